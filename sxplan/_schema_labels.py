"""Chinese column labels of the run-folder CSV tables (a ``label_zh`` per column name).

A column name means the same wherever it appears, so labels are keyed by name; families keep
their ``{placeholder}`` (``{year}年森林覆盖率(%)``), filled in from the column's own name.
Within one table no two columns share a label, so a Chinese header row maps back to the
machine-stable English names (:meth:`sxplan.schema.Dataset.english_name`; a test checks it).

Inputs: none. Outputs: :data:`LABELS_ZH`.
"""

from __future__ import annotations

__all__ = ["LABELS_ZH"]

_TABLE = """
name | 名称
type | 类型
source | 来源文件
features | 要素数
datum | 坐标基准
units | 单位
sha256 | SHA-256校验值
seconds | 耗时(秒)
resampling | 重采样方法
source_res_m | 源分辨率(米)
kind | 数据种类
code | 代码
rule | 规则
label_zh | 中文名称
mode | 方式
rank | 排名
parcel_id | 地块编号
technology | 技术
technology_zh | 技术(中文)
county | 县(区)
adcode | 行政区划代码
prefecture | 地级市
prefecture_adcode | 地级市代码
bases | 基地编号
bases_zh | 所在基地
lon | 经度(WGS84)
lat | 纬度(WGS84)
lon_gcj02 | 经度(GCJ-02)
lat_gcj02 | 纬度(GCJ-02)
area_km2 | 面积(平方千米)
capacity_mw | 装机容量(兆瓦)
energy_gwh_per_yr | 年发电量(吉瓦时/年)
score_mean | 平均适宜性得分
score_max | 最高适宜性得分
county_share | 主县占比
counties | 涉及县(区)代码
bases_share | 主基地占比
mean_slope_pct | 平均坡度(%)
dist_highway_km | 距高速公路(千米)
yield_kwh_per_kwp_yr | 单位发电量(千瓦时/千瓦峰值/年)
capacity_factor | 容量系数
turbines | 风机台数
road_ref | 道路编号
side_compass | 所在路侧
facing_compass | 组件朝向
ghi_kwh_m2_yr | 水平总辐射(千瓦时/平方米/年)
mean_{resource} | 资源均值_{resource}
lc_{landcover_class}_share | 地类占比_{landcover_class}
crit_{criterion} | 指标值_{criterion}
score_{criterion} | 指标得分_{criterion}
level | 层级
id | 编号
name_zh | 中文名称(单元)
name_en | 英文名称
eligible_km2 | 可用面积(平方千米)
candidate_km2 | 候选面积(平方千米)
parcel_area_km2 | 地块面积(平方千米)
potential_gw | 装机潜力(吉瓦)
energy_twh_per_yr | 年发电量(太瓦时/年)
parcels | 地块数
target_gw_2025 | 2025年目标(吉瓦)
target_gw_2030 | 2030年目标(吉瓦)
installed_gw | 已装机(吉瓦)
note | 备注
potential_to_target_2030 | 潜力与2030年目标之比
order | 顺序
layer | 图层
km2_alone | 单独排除面积(平方千米)
km2_in_sequence | 依次排除面积(平方千米)
share_of_study_area | 占研究区比例
road_name | 道路名称
n_segments | 路段数
road_km | 道路长度(千米)
usable_strip_km | 可用带长度(千米)
usable_area_km2 | 可用带面积(平方千米)
panel_area_km2 | 组件面积(平方千米)
target_mw | 目标(兆瓦)
target_year | 目标年份
target_share_pct | 目标完成比例(%)
landcover_coverage_pct | 地表覆盖数据覆盖率(%)
baseline_forest_pct | 基准森林覆盖率(栅格,%)
calibrated_forest_pct | 校准后森林覆盖率(%)
calibration_source | 校准来源
ecological_zone | 生态区
mean_elevation_m | 平均海拔(米)
eligible_landcover_ha | 可造林地类面积(公顷)
removed_slope_ha | 坡度剔除(公顷)
removed_elevation_ha | 海拔剔除(公顷)
removed_climate_ha | 气候剔除(公顷)
removed_reserved_ha | 新能源预留剔除(公顷)
eligible_raster_ha | 栅格宜林地(公顷)
eligible_ha | 宜林地(公顷)
required_gain_ha | 所需造林(公顷)
required_gain_points | 所需提升(百分点)
feasible_locally | 县内可实现
allocated_gain_ha | 分配造林(公顷)
allocated_gain_points | 分配提升(百分点)
priority_score | 优先级得分
cover_{year}_pct | {year}年森林覆盖率(%)
sink_tco2_per_yr_{year} | {year}年碳汇(吨二氧化碳/年)
sink_tco2_per_yr_{year}_p05 | {year}年碳汇5%分位(吨二氧化碳/年)
sink_tco2_per_yr_{year}_p95 | {year}年碳汇95%分位(吨二氧化碳/年)
year | 年份
sink_tco2_per_yr | 碳汇(吨二氧化碳/年)
sink_tco2_per_yr_p05 | 碳汇5%分位(吨二氧化碳/年)
sink_tco2_per_yr_p95 | 碳汇95%分位(吨二氧化碳/年)
top_n_share | 进入前N名的比例
rank_p05 | 排名5%分位
rank_p95 | 排名95%分位
builtup_pct | 建设用地占比(%)
urban_district | 城区规则
official_year | 官方数据年份
likely_forest_ha | 疑似未制图森林(公顷)
removed_farmland_ha | 永久基本农田剔除(公顷)
removed_built_margin_ha | 建设用地缓冲剔除(公顷)
removed_climate_zone_ha | 干旱气候区剔除(公顷)
contested_plantable_ha | 与新能源地块重叠的宜林地(公顷)
avoided_tco2_per_yr | 减排量(吨二氧化碳/年)
forgone_sink_tco2_per_yr | 放弃的碳汇(吨二氧化碳/年)
net_tco2_per_yr | 净效益(吨二氧化碳/年)
eligible_shrub_zone_ha | 宜灌区可造林地(公顷)
eligible_source | 宜林地来源
local_shortfall_ha | 县内缺口(公顷)
allocated_shrub_ha | 分配灌木林(公顷)
forest_stock_m3 | 森林蓄积量(立方米)
existing_growth_m3_per_yr | 现有森林年生长量(立方米/年)
existing_sink_tco2_per_yr | 现有森林碳汇(吨二氧化碳/年)
stock_m3 | 全省森林蓄积量(立方米)
existing_stock_m3 | 现有森林蓄积量(立方米)
new_planting_stock_m3 | 新造林蓄积量(立方米)
grid_emission_factor_tco2_per_mwh | 电网排放因子(吨二氧化碳/兆瓦时)
forgone_sink_tco2_per_ha_yr | 单位面积放弃碳汇(吨二氧化碳/公顷/年)
site_id | 站点编号
geometry_type | 几何类型
accuracy | 位置精度
shared_coordinate_sites | 同坐标站点数
dropped | 未评分原因
inside_study_area | 位于研究区内
cells | 栅格数
eligible_share | 可用土地占比
eligible | 位于可用土地
score | 得分
score_eligible | 可用栅格得分
first_rule | 首个排除规则
all_rules | 全部硬性规则
soft_rules | 全部软性规则
measure | 评价指标
auc | AUC
auc_p05 | AUC 5%分位
auc_p95 | AUC 95%分位
n_sites | 站点数
n_background | 背景栅格数
site_median | 站点中位数
background_median | 背景中位数
crop_yield_share_kept | 作物产量保留比例
min_panel_height_m | 组件最低离地高度(米)
row_spacing_m | 阵列行间距(米)
km2_returned | 豁免恢复面积(平方千米)
km2_scored_up | 加分面积(平方千米)
pair_id | 抽蓄站址编号
head_m | 水头(米)
distance_km | 上下库距离(千米)
distance_to_head | 距高比
energy_gwh | 储能量(GWh)
power_mw | 装机功率(MW)
cycle_hours | 满发小时数
usable_volume_gl | 可用库容(GL)
volume_gl | 水库库容(GL)
dam_volume_mm3 | 坝体方量(百万立方米)
water_rock | 水岩比
rock_m3_per_mwh | 单位储能坝体方量(立方米/MWh)
upper_elev_m | 上库坝址高程(米)
lower_elev_m | 下库坝址高程(米)
upper_wall_height_m | 上库坝高(米)
lower_wall_height_m | 下库坝高(米)
upper_area_km2 | 上库水面面积(平方千米)
lower_area_km2 | 下库水面面积(平方千米)
upper_lon | 上库经度
upper_lat | 上库纬度
lower_lon | 下库经度
lower_lat | 下库纬度
dist_substation_km | 距变电站距离(千米)
grid_substation | 接入变电站
grid_voltage_kv | 接入电压等级(千伏)
grid_distance_km | 并网距离(千米)
grid_straight_km | 至变电站直线距离(千米)
connection_cost_mcny | 并网投资(百万元)
lcoe_cny_per_kwh | 度电成本(元/千瓦时)
rank_lcoe | 度电成本排名
case | 成本情景
step | 曲线序号
cumulative_gw | 累计装机(GW)
"""

#: Column name (or family pattern) -> Chinese label.
LABELS_ZH: dict[str, str] = {
    name.strip(): label.strip()
    for name, label in (line.split("|") for line in _TABLE.strip().splitlines())
}
