"""Stand-in layers (status proxy/schematic, see DATA.md): wind_proxy.tif, redline_proxy.gpkg,
highways_schematic.gpkg.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features
from rasterio.warp import Resampling, reproject
from scipy import ndimage

from sxplan.layers.grid import ALBERS_CHINA

from .common import area_km2, write_gpkg, write_tif

# Wind proxy: scaling to published Shanxi 100 m ranges (GWA: ~4 m/s in basins, 7+ on ridges).
WIND_P5_MS, WIND_P95_MS = 4.0, 7.2
WIND_MIN_MS, WIND_MAX_MS = 2.5, 10.5


# ---------------------------------------------------------------------------------------- wind
def province_mask(geom, shape, transform) -> np.ndarray:
    return features.geometry_mask([geom], shape, transform, invert=True)


def build_wind_proxy(out: Path, dem: np.ndarray, tr: Affine, prov_geom) -> None:
    valid = dem > -32768
    z = np.where(valid, dem, np.nan).astype("float64")
    zf = np.where(valid, z, np.nanmean(z))
    # topographic exposure: elevation above the mean within ~10 km (21 x 21 cells)
    tpi = zf - ndimage.uniform_filter(zf, size=21, mode="nearest")
    lat = tr.f + tr.e * (np.arange(dem.shape[0]) + 0.5)
    latg = np.broadcast_to(lat[:, None], dem.shape)
    inside = province_mask(prov_geom, dem.shape, tr) & valid

    def zs(a):
        return (a - a[inside].mean()) / a[inside].std()

    score = 0.5 * zs(zf) + 0.35 * zs(tpi) + 0.15 * zs(latg)
    p5, p95 = np.percentile(score[inside], [5, 95])
    speed = WIND_P5_MS + (score - p5) * (WIND_P95_MS - WIND_P5_MS) / (p95 - p5)
    speed = np.clip(np.round(speed, 2), WIND_MIN_MS, WIND_MAX_MS)
    speed = np.where(valid, speed, np.nan).astype("float32")
    write_tif(
        out / "wind_proxy.tif",
        speed,
        tr,
        np.nan,
        {
            "units": "m/s",
            "status": "proxy",
            "warning": "wind_proxy: terrain-based proxy of 100 m mean wind speed, NOT a wind "
            "climatology; replace with Global Wind Atlas (see DATA.md)",
        },
    )
    print(f"wind_proxy.tif: province p5/p50/p95 = {np.percentile(speed[inside], [5, 50, 95])}")


# ------------------------------------------------------------------------------------ red line
# What Shanxi's red lines protect, from what the build packages hold (DATA.md, "Red-line proxy"):
# forest land (IGBP forests + woody savannas), sparse forest (IGBP savannas, 10-30% tree cover,
# China's 疏林地), a margin around the large forest massifs that hold the main mountain nature
# reserves (their non-forest parts), and the Yellow River water polygons with a shore margin
# (water sources and river wetlands). No elevation term: high ground is where the wind is,
# and altitude alone is not a red-line criterion.
FOREST_IGBP = (1, 2, 3, 4, 5, 8)  # forests + woody savannas
SPARSE_FOREST_IGBP = (9,)  # savannas (10-30% tree cover)
# the four sizes below are planner's choices (unverified), not read from a source
RESERVE_MASSIF_KM2 = 500  # forest blocks at least this large hold the main mountain reserves
RESERVE_MARGIN_CELLS = 2  # margin around them, DEM cells (~1.4-1.9 km)
WATER_MARGIN_M = 1000  # shore margin of the water polygons, m (planner's choice, unverified)
MIN_PATCH_CELLS = 30  # patches under ~20 km2 dropped


def build_redline(out: Path, dem, dem_tr, lc, lc_tr, prov_geom, prov_area) -> None:
    shape = dem.shape
    lc_on_dem = np.full(shape, 255, dtype="uint8")
    reproject(
        lc, lc_on_dem, src_transform=lc_tr, src_crs="EPSG:4326", src_nodata=255,
        dst_transform=dem_tr, dst_crs="EPSG:4326", dst_nodata=255,
        resampling=Resampling.nearest,
    )  # fmt: skip
    inside = province_mask(prov_geom, shape, dem_tr)
    lat = dem_tr.f + dem_tr.e * (np.arange(shape[0]) + 0.5)
    km2 = np.cos(np.radians(lat)) * (abs(dem_tr.e) * 111.32) * (abs(dem_tr.a) * 111.32)
    cell_km2 = np.broadcast_to(km2[:, None], shape)  # approximate cell area (block sizes only)
    st = np.ones((3, 3), bool)

    def cleaned(keep):
        keep = ndimage.binary_opening(ndimage.binary_closing(keep, st, iterations=2), st)
        lab, nlab = ndimage.label(keep, st)
        sizes = ndimage.sum(np.ones(shape), lab, np.arange(1, nlab + 1))
        big = np.zeros(nlab + 1, bool)
        big[1:] = sizes >= MIN_PATCH_CELLS
        return big[lab] & inside

    forest = cleaned(np.isin(lc_on_dem, FOREST_IGBP))
    lab, nlab = ndimage.label(forest, st)
    block_km2 = ndimage.sum(cell_km2, lab, np.arange(1, nlab + 1))
    massif = np.zeros(nlab + 1, bool)
    massif[1:] = block_km2 >= RESERVE_MASSIF_KM2
    margin = ndimage.binary_dilation(massif[lab], st, iterations=RESERVE_MARGIN_CELLS) & inside
    keep = cleaned(np.isin(lc_on_dem, FOREST_IGBP + SPARSE_FOREST_IGBP)) | margin
    polys = [
        shapely.geometry.shape(geom)
        for geom, val in features.shapes(keep.astype("uint8"), mask=keep, transform=dem_tr)
        if val == 1
    ]
    water = gpd.read_file(out / "water.gpkg", layer="water_polygons").geometry
    shore = water.to_crs(ALBERS_CHINA).buffer(WATER_MARGIN_M).to_crs("EPSG:4326")
    g = shapely.union_all(polys + list(shore))
    g = shapely.simplify(g, 0.003, preserve_topology=True)
    g = shapely.intersection(g, prov_geom)
    g = shapely.set_precision(g, 1e-6)
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 1e-4]
    parts.sort(key=lambda p: (round(p.centroid.x, 6), round(p.centroid.y, 6)))
    basis = (
        "IGBP forest, woody savanna or savanna; "
        f"{RESERVE_MARGIN_CELLS}-cell margin of forest massifs >= {RESERVE_MASSIF_KM2} km2; "
        f"water polygons + {WATER_MARGIN_M} m; no elevation term"
    )
    gdf = gpd.GeoDataFrame(
        {"status": ["proxy"] * len(parts), "basis": [basis] * len(parts)},
        geometry=parts,
        crs="EPSG:4326",
    )
    write_gpkg(out / "redline_proxy.gpkg", {"redline_proxy": gdf})
    total = area_km2(gdf.geometry).sum()
    print(
        f"redline_proxy.gpkg: {len(gdf)} polygons, {total:,.0f} km2, "
        f"{total / prov_area:.1%} of province"
    )


# ------------------------------------------------------------------------------------ highways
# Approximate WGS84 positions (degrees) of seats and border crossings; schematic only.
PLACES = {
    "taiyuan": (112.549, 37.870),
    "datong": (113.300, 40.077),
    "yangquan": (113.580, 37.857),
    "changzhi": (113.116, 36.196),
    "jincheng": (112.852, 35.491),
    "shuozhou": (112.433, 39.332),
    "jinzhong": (112.753, 37.687),
    "yuncheng": (111.007, 35.027),
    "xinzhou": (112.734, 38.417),
    "linfen": (111.519, 36.088),
    "lishi": (111.144, 37.519),
    "yuanping": (112.711, 38.731),
    "huairen": (113.100, 39.828),
    "qixian": (112.335, 37.358),
    "houma": (111.372, 35.619),
    "yumenkou": (110.605, 35.662),
    "jiuguan": (113.960, 37.930),
    "fenyang": (111.788, 37.261),
    "jundu": (110.550, 37.420),
    "deshengkou": (113.180, 40.420),
    "qinxian": (112.698, 36.757),
    "henan_jiaozuo": (113.020, 35.230),
    "licheng": (113.387, 36.503),
    "hebei_shexian": (113.650, 36.550),
    "jixian": (110.682, 36.099),
    "hukou": (110.450, 36.150),
    "hebei_laiyuan": (114.350, 39.420),
    "lingqiu": (114.235, 39.442),
    "yingxian": (113.191, 39.554),
    "pianguan": (111.501, 39.437),
    "hequ": (111.146, 39.384),
    "shahukou": (112.430, 40.190),
    "youyu": (112.466, 39.989),
    "wuzhai": (111.846, 38.910),
    "kelan": (111.573, 38.705),
    "xingxian": (111.127, 38.463),
    "linxian": (110.993, 37.960),
    "zhongyang": (111.183, 37.357),
    "xixian": (110.940, 36.693),
    "xiangning": (110.847, 35.970),
    "hejin": (110.712, 35.597),
    "ruicheng": (110.695, 34.694),
    "molan": (110.850, 34.640),
    "hebei_pingshan": (113.850, 38.300),
    "yuxian": (113.412, 38.086),
    "yangqu": (112.673, 38.058),
    "jingle": (111.940, 38.359),
    "lanxian": (111.673, 38.279),
    "heshun": (113.570, 37.329),
    "hebei_xingtai": (113.830, 37.230),
    "yushe": (112.975, 37.071),
    "pingyao": (112.175, 37.190),
    "xiaoyi": (111.778, 37.145),
}

HIGHWAYS = [
    ("G5", "京昆高速", "Beijing-Kunming Expressway",
     ["jiuguan", "yangquan", "taiyuan", "qixian", "linfen", "houma", "yumenkou"]),
    ("G20", "青银高速", "Qingdao-Yinchuan Expressway",
     ["jiuguan", "yangquan", "taiyuan", "fenyang", "lishi", "jundu"]),
    ("G55", "二广高速", "Erenhot-Guangzhou Expressway",
     ["deshengkou", "datong", "huairen", "yuanping", "xinzhou", "taiyuan", "qinxian",
      "changzhi", "jincheng", "henan_jiaozuo"]),
    ("G22", "青兰高速", "Qingdao-Lanzhou Expressway",
     ["hebei_shexian", "licheng", "changzhi", "linfen", "jixian", "hukou"]),
    ("G18", "荣乌高速", "Rongcheng-Wuhai Expressway",
     ["hebei_laiyuan", "lingqiu", "yingxian", "shuozhou", "pianguan", "hequ"]),
    ("G59", "呼北高速", "Hohhot-Beihai Expressway",
     ["shahukou", "youyu", "wuzhai", "kelan", "xingxian", "linxian", "lishi", "zhongyang",
      "xixian", "jixian", "xiangning", "hejin", "yuncheng", "ruicheng", "molan"]),
    ("G1812", "沧榆高速", "Cangzhou-Yulin Expressway",
     ["hebei_pingshan", "yuxian", "yangqu", "jingle", "lanxian", "xingxian"]),
    ("G2516", "东吕高速", "Dongying-Lvliang Expressway",
     ["hebei_xingtai", "heshun", "yushe", "pingyao", "xiaoyi", "lishi"]),
]  # fmt: skip


def build_highways(out: Path, bbox) -> None:
    box = shapely.box(*bbox)
    rows = []
    for ref, zh, en, stops in HIGHWAYS:
        for a, b in zip(stops[:-1], stops[1:], strict=True):
            seg = shapely.LineString([PLACES[a], PLACES[b]])
            seg = shapely.segmentize(seg, 0.01)  # vertices every <= ~1 km
            seg = shapely.set_precision(shapely.intersection(seg, box), 1e-6)
            if seg.is_empty:
                continue
            rows.append((ref, zh, en, f"{a}-{b}", seg))
    gdf = gpd.GeoDataFrame(
        {
            "ref": [r[0] for r in rows],
            "name_zh": [r[1] for r in rows],
            "name_en": [r[2] for r in rows],
            "segment": [r[3] for r in rows],
            "class": ["motorway"] * len(rows),
            "status": ["schematic"] * len(rows),
            "tunnel": ["no"] * len(rows),
            "bridge": ["no"] * len(rows),
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4326",
    )
    write_gpkg(out / "highways_schematic.gpkg", {"highways": gdf})
    km = gpd.GeoSeries(gdf.geometry).to_crs(ALBERS_CHINA).length.sum() / 1000
    print(f"highways_schematic.gpkg: {len(gdf)} segments, {km:,.0f} km (schematic)")
