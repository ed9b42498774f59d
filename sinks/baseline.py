"""County zonal sums with exact coverage fractions, and calibration to official forest cover.

Zonal sums use ``exactextract``: a cell cut by a county boundary counts by the fraction of its
area inside the county, so county totals add up to the province total without double counting
or gaps. The sinks stage forms its land sums inside its tile pass with exactextract's coverage
fractions (:mod:`sxplan.sinks._land_pass`, :mod:`sxplan.layers.zonal`); :func:`county_sums_ha`
sums rasters on disk and is the reference those sums are tested against. Work is done in the
run's equal-area grid CRS, where every cell has the same area
(resolution squared); counties must be the ones the layers step validated
(:func:`sxplan.layers.counties.validate_counties`, already in the grid CRS), and a grid that is not
equal-area raises.

Official statistics: a CSV ``adcode,year,forest_cover_pct`` (UTF-8, optional ``name``,
``source`` and ``plantable_ha``) holds county and/or province forest cover. A county row of any
year replaces the raster estimate (the year nearest the baseline year is used, the later one on
a tie; the province row likewise, and the year used is reported). ``replace`` stops there;
``rescale`` also scales the remaining counties by one factor so the province matches its
official figure (counties at 100 % are capped and the rest rescaled); ``distribute`` instead
adds the province gap to the remaining counties in proportion to a per-cell likelihood of
unmapped forest (woody classes first; none on built-up land, cropland, water or wetland;
none in urban districts), capped per cell at ``calibration_max_cell_share`` of that land.
When the cap cannot hold the gap the province figure is not reached and the shortfall is
reported, never spread elsewhere.

Inputs: counties (GeoDataFrame in the grid CRS), fraction rasters on the grid, official CSV.
Outputs: per-county sums in hectares; calibrated forest cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import ConfigError, CRSError, LayerIOError
from sxplan.layers.budget import Budget
from sxplan.layers.counties import require_validated_counties
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer

__all__ = [
    "OFFICIAL_CSV",
    "Calibration",
    "calibrate_forest_cover",
    "county_means",
    "county_rows",
    "county_sums_ha",
    "read_official",
    "require_counties_on_grid",
]

#: The packaged official forest-cover table (Shanxi province, 2020).
OFFICIAL_CSV = Path(__file__).resolve().parent / "data" / "official_forest_cover.csv"


def require_counties_on_grid(counties, grid: GridSpec) -> None:
    """Raise unless ``counties`` were validated for ``grid`` and the grid is equal-area.

    County validation (fields, adcodes, CRS) happens once, in
    :func:`sxplan.layers.counties.validate_counties`; this only checks its mark (cheap) and
    that cell areas are equal across the province.

    Parameters
    ----------
    counties : geopandas.GeoDataFrame
        County polygons from :func:`~sxplan.layers.counties.validate_counties`.
    grid : GridSpec
        The run's grid.
    """
    require_validated_counties(counties, grid, who="sinks")
    if not grid.is_equal_area:
        raise CRSError(
            f"the run's grid CRS ({grid.pyproj_crs.name}) is not equal-area, so cell areas "
            "differ across the province; use the default Albers for China (layers.ALBERS_CHINA)"
        )


def county_sums_ha(
    counties, layers: dict[str, AlignedLayer], grid: GridSpec, *, mem_limit_mb: float
) -> pd.DataFrame:
    """Coverage-weighted sums of fraction rasters per county, in hectares.

    For a fraction raster ``f`` the county total is ``sum_i f_i x c_i x cell_area`` with
    ``c_i`` the fraction of cell ``i`` inside the county. The coverage of valid cells of the
    first layer is returned as ``valid_ha``.

    Parameters
    ----------
    counties : geopandas.GeoDataFrame
        Polygons in the grid CRS with an ``adcode`` column.
    layers : dict of str to AlignedLayer
        Name -> fraction raster (0-1) on the grid; the name becomes the column ``<name>_ha``.
    grid : GridSpec
        The run's grid.
    mem_limit_mb : float
        Memory budget; bounds the raster cells exactextract holds at once.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``counties``: ``valid_ha`` and ``<name>_ha`` per layer.
    """
    from exactextract import exact_extract

    require_counties_on_grid(counties, grid)
    cell_ha = grid.res * grid.res / 1e4
    names = list(layers)
    for name in names:
        grid.require_same(layers[name].grid, f"layer '{name}' ({layers[name].path})")
    stems = [layers[n].path.stem for n in names]
    if len(set(stems)) != len(stems):
        raise ConfigError(f"zonal layers need distinct file names, got {stems}")
    vec = counties[["adcode", "geometry"]].reset_index(drop=True)
    res = exact_extract(
        [_zonal_source(layers[n].path) for n in names],
        vec,
        ["sum", "count"],
        include_cols=["adcode"],
        output="pandas",
        max_cells_in_memory=_max_cells(mem_limit_mb),
    )
    out = pd.DataFrame(index=counties.index)
    first = stems[0]
    out["valid_ha"] = _col(res, first, "count", len(names)) * cell_ha
    for name, stem in zip(names, stems, strict=True):
        out[f"{name}_ha"] = _col(res, stem, "sum", len(names)) * cell_ha
    return out


def county_means(
    counties,
    layer: AlignedLayer,
    grid: GridSpec,
    *,
    mem_limit_mb: float,
    weights: AlignedLayer | None = None,
) -> np.ndarray:
    """Coverage-weighted (optionally also ``weights``-weighted) mean of a raster per county.

    Parameters
    ----------
    counties : geopandas.GeoDataFrame
        Polygons in the grid CRS.
    layer : AlignedLayer
        The raster to average (nodata cells are skipped).
    grid : GridSpec
        The run's grid.
    mem_limit_mb : float
        Memory budget.
    weights : AlignedLayer, optional
        A second raster of weights (e.g. the eligible fraction).

    Returns
    -------
    numpy.ndarray
        One mean per county (NaN where the county has no valid cells or zero weight).
    """
    from exactextract import exact_extract

    require_counties_on_grid(counties, grid)
    grid.require_same(layer.grid, f"layer '{layer.name}' ({layer.path})")
    vec = counties[["adcode", "geometry"]].reset_index(drop=True)
    kwargs = {}
    op = "mean"
    if weights is not None:
        grid.require_same(weights.grid, f"layer '{weights.name}' ({weights.path})")
        kwargs["weights"] = str(weights.path)
        op = "weighted_mean"
    res = exact_extract(
        str(layer.path),
        vec,
        [op],
        include_cols=["adcode"],
        output="pandas",
        max_cells_in_memory=_max_cells(mem_limit_mb),
        **kwargs,
    )
    return res[op].to_numpy(dtype="float64")


def _zonal_source(path: Path):
    """An exactextract source for ``path`` that skips masked arrays where that is exact.

    exactextract's rasterio source reads every window as a masked array; for a raster whose
    only mask is a finite nodata value (the fraction rasters of this stage) handing over the
    plain array and letting exactextract compare with that nodata value selects the same
    cells, so sums and counts are unchanged, at half the read cost. Any other raster (NaN or no
    nodata, a mask band, scale/offset) keeps the masked read.
    """
    import rasterio
    from exactextract.raster import RasterioRasterSource
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    class _NodataValueSource(RasterioRasterSource):
        def read_window(self, x0, y0, nx, ny):
            return self.ds.read(self.band_idx, window=Window(x0, y0, nx, ny))

    ds = rasterio.open(path)
    nodata = ds.nodata
    plain = (
        ds.count == 1
        and nodata is not None
        and math.isfinite(nodata)
        and list(ds.mask_flag_enums[0]) == [MaskFlags.nodata]
        and ds.scales[0] == 1.0
        and ds.offsets[0] == 0.0
    )
    cls = _NodataValueSource if plain else RasterioRasterSource
    return cls(ds, name=Path(path).stem)


def _max_cells(mem_limit_mb) -> int:
    # exactextract holds values, coverage fractions and weights as doubles: ~24 bytes per cell.
    return Budget.of(mem_limit_mb).cells_in_memory(24)


def _col(res: pd.DataFrame, stem: str, op: str, n_layers: int) -> np.ndarray:
    name = f"{stem}_{op}" if n_layers > 1 else op
    return res[name].to_numpy(dtype="float64")


def read_official(path: str | Path) -> pd.DataFrame:
    """Read an official forest-cover CSV (``adcode,year,forest_cover_pct``).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV (UTF-8, with or without BOM).

    Returns
    -------
    pandas.DataFrame
        Columns ``adcode`` (int), ``year`` (int), ``forest_cover_pct`` (float).
    """
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise LayerIOError(f"cannot read official forest-cover table {path}: {exc}") from exc
    missing = [c for c in ("adcode", "year", "forest_cover_pct") if c not in df.columns]
    if missing:
        raise ConfigError(
            f"official forest-cover table {path} lacks columns {missing}; it needs "
            "adcode,year,forest_cover_pct (e.g. 140000,2020,23.18)"
        )
    pct = pd.to_numeric(df["forest_cover_pct"], errors="coerce")
    bad = df[~pct.between(0, 100)]
    if len(bad):
        raise ConfigError(
            f"official forest-cover table {path}: forest_cover_pct must be 0-100, bad rows for "
            f"adcodes {bad['adcode'].tolist()[:10]}"
        )
    dup = df.duplicated(["adcode", "year"])
    if dup.any():
        raise ConfigError(
            f"official forest-cover table {path} repeats (adcode, year) for "
            f"{df.loc[dup, ['adcode', 'year']].values.tolist()[:10]}; keep one row each"
        )
    out = pd.DataFrame(
        {
            "adcode": df["adcode"].astype("int64"),
            "year": df["year"].astype("int64"),
            "forest_cover_pct": pct.astype("float64"),
        }
    )
    if "plantable_ha" in df.columns:
        plantable = pd.to_numeric(df["plantable_ha"], errors="coerce")
        bad = df[df["plantable_ha"].notna() & ~(plantable >= 0)]
        if len(bad):
            raise ConfigError(
                f"official forest-cover table {path}: plantable_ha must be a number >= 0 (or "
                f"empty), bad rows for adcodes {bad['adcode'].tolist()[:10]}"
            )
        out["plantable_ha"] = plantable.astype("float64")
    return out


def county_rows(official: pd.DataFrame, year: int, province_adcode: int | None) -> pd.DataFrame:
    """One official row per adcode (the province's left out): the year nearest ``year``.

    On a tie the later year is used.

    Examples
    --------
    >>> df = pd.DataFrame({"adcode": [1, 1, 2, 9], "year": [2015, 2019, 2021, 2020],
    ...                    "forest_cover_pct": [40.0, 52.6, 10.0, 23.0]})
    >>> county_rows(df, 2020, 9)[["adcode", "year"]].values.tolist()
    [[1, 2019], [2, 2021]]
    """
    rows = official[official["adcode"] != province_adcode].copy()
    rows["_dist"] = (rows["year"] - year).abs()
    rows = rows.sort_values(["adcode", "_dist", "year"], ascending=[True, True, False])
    return rows.drop_duplicates("adcode").drop(columns="_dist").reset_index(drop=True)


@dataclass(frozen=True)
class Calibration:
    """Calibrated county forest cover.

    Attributes
    ----------
    forest_pct : numpy.ndarray
        Calibrated forest cover per county, percent of county area.
    source : numpy.ndarray
        Per county: ``raw`` (raster estimate), ``official`` (county statistic),
        ``rescaled`` (raster estimate times the province factor) or ``distributed`` (raster
        estimate plus a share of the pool land).
    factor : float
        ``rescale``: the factor applied to ``rescaled`` counties; ``distribute``: the share of
        the pool land counted as forest; 1.0 / 0.0 when not used.
    official_province_pct : float or None
        The province figure used, if any.
    official_year : numpy.ndarray
        Per county, the year of the official county figure used (0 where none).
    official_province_year : int or None
        Year of the province figure used.
    shortfall_ha : float
        ``distribute``: forest the likely land could not hold under the per-cell cap (the
        province figure is missed by this much); 0 otherwise.
    """

    forest_pct: np.ndarray
    source: np.ndarray
    factor: float
    official_province_pct: float | None
    official_year: np.ndarray | None = None
    shortfall_ha: float = 0.0
    official_province_year: int | None = None


def calibrate_forest_cover(
    adcodes,
    area_ha,
    raw_pct,
    official: pd.DataFrame | None,
    *,
    mode: str,
    year: int,
    province_adcode: int,
    where: str = "official table",
    pool_ha=None,
    max_cell_share: float = 1.0,
) -> Calibration:
    """Replace or rescale raster forest cover with official statistics.

    Parameters
    ----------
    adcodes : array_like
        County adcodes.
    area_ha : array_like
        County areas (weights for the province figure), hectares.
    raw_pct : array_like
        Raster forest cover per county, percent.
    official : pandas.DataFrame or None
        From :func:`read_official`.
    mode : {"none", "replace", "rescale", "distribute"}
        What to do.
    year : int
        Year of the official figures to use (the baseline year).
    province_adcode : int
        adcode of the province row (e.g. 140000 for Shanxi).
    where : str
        Name of the official table for messages.
    pool_ha : array_like, optional
        Per county, likelihood-weighted hectares that may hold unmapped forest (``distribute``
        only; zero in urban districts).
    max_cell_share : float
        ``distribute``: the largest share of the likely land that becomes forest.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> c = calibrate_forest_cover([1, 2], [100.0, 100.0], [10.0, 20.0], None, mode="none",
    ...                            year=2020, province_adcode=0)
    >>> c.forest_pct.tolist(), c.factor
    ([10.0, 20.0], 1.0)
    """
    adcodes = np.asarray(adcodes, dtype="int64")
    area = np.asarray(area_ha, dtype="float64")
    raw = np.asarray(raw_pct, dtype="float64")
    n = adcodes.size
    if mode == "none" or official is None:
        if mode != "none":
            raise ConfigError(f"calibration '{mode}' needs an official forest-cover table")
        return Calibration(raw.copy(), np.full(n, "raw", dtype=object), 1.0, None)
    nearest = county_rows(official, year, None).set_index("adcode")
    rows = nearest["forest_cover_pct"]
    county = nearest.drop(index=province_adcode, errors="ignore")
    prov_year = (
        int(nearest.loc[province_adcode, "year"]) if province_adcode in nearest.index else None
    )
    pct = raw.copy()
    source = np.full(n, "raw", dtype=object)
    has_county = np.isin(adcodes, county.index.to_numpy())
    pct[has_county] = county["forest_cover_pct"].reindex(adcodes[has_county]).to_numpy()
    source[has_county] = "official"
    off_year = np.zeros(n, dtype="int64")
    off_year[has_county] = county["year"].reindex(adcodes[has_county]).to_numpy()
    if mode == "replace":
        prov = float(rows[province_adcode]) if province_adcode in rows.index else None
        return Calibration(pct, source, 1.0, prov, off_year, 0.0, prov_year)
    if mode not in ("rescale", "distribute"):
        raise ConfigError(
            f"calibration mode {mode!r} is not known; use none, replace, rescale or distribute"
        )
    if province_adcode not in rows.index:
        raise ConfigError(
            f"calibration '{mode}' needs a province row (adcode {province_adcode}, any year) "
            f"in {where}; add it (e.g. {province_adcode},{year},23.18) or use calibration: "
            "replace/none"
        )
    target_pct = float(rows[province_adcode])
    free = ~has_county
    fixed_ha = math.fsum((pct[has_county] * area[has_county] / 100).tolist())
    target_free_ha = target_pct / 100 * math.fsum(area.tolist()) - fixed_ha
    raw_free_ha = raw[free] * area[free] / 100
    if mode == "distribute":
        cal = _distribute(
            pct, source, free, area, raw_free_ha, target_free_ha, pool_ha, target_pct, where,
            max_cell_share,
        )  # fmt: skip
        return Calibration(
            cal.forest_pct, cal.source, cal.factor, target_pct, off_year, cal.shortfall_ha,
            prov_year,
        )  # fmt: skip
    if target_free_ha < 0 or (raw_free_ha.sum() <= 0 and target_free_ha > 0):
        raise ConfigError(
            f"{where}: the province figure {target_pct}% cannot be met by rescaling the raster "
            "estimate (official county values already exceed it, or the raster finds no "
            "forest); check the table or use calibration: replace"
        )
    if free.any():
        cap_ha = area[free].copy()  # 100 % of each county
        from .allocation import allocate_proportional

        if target_free_ha > cap_ha.sum():
            raise ConfigError(
                f"{where}: province figure {target_pct}% exceeds what the counties can hold"
            )
        scaled = allocate_proportional(target_free_ha, cap_ha, weights=raw_free_ha).allocated_ha
        pct[free] = scaled / area[free] * 100
        source[free] = "rescaled"
    raw_sum = raw_free_ha.sum()
    factor = float(target_free_ha / raw_sum) if raw_sum > 0 else 1.0
    return Calibration(pct, source, factor, target_pct, off_year, 0.0, prov_year)


def _distribute(
    pct, source, free, area, raw_free_ha, target_free_ha, pool_ha, target_pct, where, cap
):
    """Add the province gap to free counties in proportion to their likely land, capped."""
    if pool_ha is None:
        raise ConfigError("calibration 'distribute' needs the likely land per county")
    pool = np.asarray(pool_ha, dtype="float64")[free]
    gap_ha = target_free_ha - math.fsum(raw_free_ha.tolist())
    pool_total = math.fsum(pool.tolist())
    if gap_ha < 0:
        raise ConfigError(
            f"{where}: the raster already finds more forest than the official {target_pct}%; "
            "use calibration: rescale (which can scale down) or replace"
        )
    share = min(gap_ha / pool_total, cap) if pool_total > 0 else 0.0
    shortfall = max(gap_ha - share * pool_total, 0.0)
    pct[free] = (raw_free_ha + share * pool) / area[free] * 100
    source[free] = "distributed"
    return Calibration(pct, source, share, target_pct, None, shortfall)
