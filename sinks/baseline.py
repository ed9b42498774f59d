"""County zonal sums with exact coverage fractions, and calibration to official forest cover.

Zonal sums use ``exactextract``: a cell cut by a county boundary counts by the fraction of its
area inside the county, so county totals add up to the province total without double counting
or gaps. Work is done in the run's equal-area grid CRS, where every cell has the same area
(resolution squared); counties must be the ones the layers step validated
(:func:`sxplan.layers.counties.validate_counties`, already in the grid CRS), and a grid that is not
equal-area raises.

Official statistics: a CSV ``adcode,year,forest_cover_pct`` (UTF-8, optional ``name`` and
``source``) holds county and/or province forest cover. ``replace`` takes county values where
given; ``rescale`` also scales the remaining counties by one factor so the province matches its
official figure (counties at 100 % are capped and the rest rescaled); ``distribute`` instead adds
the province gap to the remaining counties in proportion to a pool of land (the land the raster
calls shrub, grass, savanna or barren), i.e. it assumes the forest the raster misses (sparse
forest, the shrub forest Chinese statistics count) lies uniformly on that land. ``distribute``
avoids the implausible 100 % counties a large multiplicative factor produces on coarse rasters.

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
        [str(layers[n].path) for n in names],
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
    return pd.DataFrame(
        {
            "adcode": df["adcode"].astype("int64"),
            "year": df["year"].astype("int64"),
            "forest_cover_pct": pct.astype("float64"),
        }
    )


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
    """

    forest_pct: np.ndarray
    source: np.ndarray
    factor: float
    official_province_pct: float | None


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
        Per county, hectares of land that may hold unmapped forest (``distribute`` only).

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
    rows = official[official["year"] == year].set_index("adcode")["forest_cover_pct"]
    pct = raw.copy()
    source = np.full(n, "raw", dtype=object)
    has_county = np.isin(adcodes, rows.index.to_numpy())
    pct[has_county] = rows.reindex(adcodes[has_county]).to_numpy()
    source[has_county] = "official"
    if mode == "replace":
        prov = float(rows[province_adcode]) if province_adcode in rows.index else None
        return Calibration(pct, source, 1.0, prov)
    if mode not in ("rescale", "distribute"):
        raise ConfigError(
            f"calibration mode {mode!r} is not known; use none, replace, rescale or distribute"
        )
    if province_adcode not in rows.index:
        raise ConfigError(
            f"calibration '{mode}' needs the province row adcode {province_adcode}, year {year} "
            f"in {where}; add it (e.g. {province_adcode},{year},23.18) or use calibration: "
            "replace/none"
        )
    target_pct = float(rows[province_adcode])
    free = ~has_county
    fixed_ha = math.fsum((pct[has_county] * area[has_county] / 100).tolist())
    target_free_ha = target_pct / 100 * math.fsum(area.tolist()) - fixed_ha
    raw_free_ha = raw[free] * area[free] / 100
    if mode == "distribute":
        return _distribute(
            pct, source, free, area, raw_free_ha, target_free_ha, pool_ha, target_pct, where
        )
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
    return Calibration(pct, source, factor, target_pct)


def _distribute(pct, source, free, area, raw_free_ha, target_free_ha, pool_ha, target_pct, where):
    """Add the province gap to free counties in proportion to their pool land."""
    if pool_ha is None:
        raise ConfigError("calibration 'distribute' needs the pool land per county")
    pool = np.asarray(pool_ha, dtype="float64")[free]
    gap_ha = target_free_ha - math.fsum(raw_free_ha.tolist())
    pool_total = math.fsum(pool.tolist())
    if gap_ha < 0:
        raise ConfigError(
            f"{where}: the raster already finds more forest than the official {target_pct}%; "
            "use calibration: rescale (which can scale down) or replace"
        )
    if gap_ha > pool_total:
        raise ConfigError(
            f"{where}: the official {target_pct}% needs {gap_ha:,.0f} ha more forest than the "
            f"raster finds, but only {pool_total:,.0f} ha of shrub/grass/barren land could hold "
            "it; use calibration: rescale"
        )
    share = gap_ha / pool_total if pool_total > 0 else 0.0
    pct[free] = (raw_free_ha + share * pool) / area[free] * 100
    source[free] = "distributed"
    return Calibration(pct, source, share, target_pct)
