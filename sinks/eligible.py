"""Forest credit and afforestation-eligible land on the run grid, tile by tile.

For every cell of the land-cover raster this stage computes two fractions of the cell:

- ``forest_credit``: how much of the cell counts as forest now (class credits from the config,
  e.g. IGBP forests 1.0, woody savannas 0.5);
- ``eligible``: how much of the cell may be planted: the land-cover credit (grass, shrub,
  barren ...; never cropland, built-up, water or wetland), set to 0 on permanent basic
  farmland (``farmland_layer``), within ``built_margin_m`` of built-up cells, where the slope or
  elevation is out of range, where a climate layer is out of range or in the no-planting climate
  zone, and where the renewables reservation raster holds a cell for wind/PV. Cells where a
  limiting layer has no data are not eligible (unknown is never assumed good);
- ``eligible_shrub``: the part of ``eligible`` in the shrubs-only climate zone;
- ``likely_forest``: weight of unmapped forest on the cell's non-forest part (calibration
  ``distribute``; 0 on built-up, cropland, water and wetland).

It also keeps, per limit, the eligible fraction that limit removed (applied in the order
farmland, built margin, slope, elevation, climate, climate zone, reserved), so county tables
can say which rule removed how much land.

The limits are applied in one place, :func:`land_fates` (each cell's fate: plantable, or removed
by which limit); :func:`land_fractions` turns fates into the fractions above. The sinks stage
itself (:func:`sxplan.sinks.run.run_sinks`) no longer writes these rasters: its tile pass
(:mod:`sxplan.sinks._land_pass`) sums the same fractions per county as it goes and writes only
``eligible``. :func:`compute_land_rasters` and :func:`eligible_after_calibration` write the
fraction rasters for inspection and are the reference the stage's sums are tested against.

Inputs: :class:`~sxplan.layers.io.AlignedLayer` rasters on one grid, a
:class:`~sxplan.sinks.config.SinksConfig`,
a memory budget. Outputs: float32 GeoTIFFs (fractions 0-1, nodata -1 outside land-cover data).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sxplan.layers.budget import Budget
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer, RasterTileWriter
from sxplan.layers.landcover import COMMON_CLASSES, SCHEMES, common_lookup
from sxplan.layers.windows import plan_tiles, run_tiles

from .config import SinksConfig

__all__ = [
    "NODATA",
    "LandRasters",
    "compute_land_rasters",
    "credit_lookups",
    "eligible_fraction",
    "land_fates",
    "eligible_after_calibration",
    "land_fractions",
    "likelihood_lookup",
]

#: Nodata of the fraction rasters written here.
NODATA = -1.0

# Working set per cell and tile worker: computing a tile peaks at ~61 B/cell (measured with
# tracemalloc at 30 m: inputs, masks, temporaries, the float32 outputs) and a computed tile
# waiting to be written holds ~36 B/cell (nine float32 rasters); run_tiles keeps at most two
# tiles per worker in flight, so each worker's share of the budget covers one of each.
_BYTES_PER_CELL = 96
# The same for eligible_after_calibration: three float32 inputs and masks, float32 temporaries
# (~26 B/cell at peak, measured) plus one float32 result waiting to be written.
_AFTER_BYTES_PER_CELL = 32
#: Compression of scratch rasters (all but the eligible COG): written once, read once by
#: exactextract and deleted, so DEFLATE (the writer's default) only costs time. Measured at
#: 30 m when the stage still wrote nine such rasters (benchmarks/README.md, issue 17, sinks17):
#: NONE 44 s / 51 CPU-s, ZSTD level 1 77 s / 69 CPU-s, DEFLATE 81-84 s. The stage now writes
#: one only with a renewables reservation (the fraction it removed, for ``net_carbon.csv``);
#: :func:`compute_land_rasters` uses it for all but ``eligible``. Price: 4 bytes per cell and
#: raster of disk while they exist.
SCRATCH_COMPRESS = "NONE"


def credit_lookups(config: SinksConfig, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables from source land-cover code to forest and eligible credit.

    Parameters
    ----------
    config : SinksConfig
        Class credits.
    scheme : str
        The land-cover layer's scheme (:attr:`sxplan.layers.io.AlignedLayer.scheme`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(forest_lut, eligible_lut)``, float32 arrays of 65536 entries indexed by source code.

    Examples
    --------
    >>> f, e = credit_lookups(SinksConfig(), "igbp")
    >>> float(f[1]), float(f[8]), float(e[8]), float(e[12])
    (1.0, 0.5, 0.5, 0.0)
    """
    to_common_lut = common_lookup(scheme)
    luts = []
    for credits in (config.forest_credit, config.eligible_credit):
        lut = np.zeros(65536, dtype="float32")
        if config.class_basis == "source":
            for code, credit in credits.items():
                lut[int(code)] = credit
        else:
            by_common = np.zeros(256, dtype="float32")
            for name, credit in credits.items():
                by_common[COMMON_CLASSES[name]] = credit
            lut = by_common[to_common_lut]
        luts.append(lut)
    return luts[0], luts[1]


def likelihood_lookup(config: SinksConfig, scheme: str) -> np.ndarray:
    """Lookup from source code to the weight of unmapped forest (``calibration_likelihood``).

    Examples
    --------
    >>> lut = likelihood_lookup(SinksConfig(), "igbp")
    >>> [round(float(lut[c]), 6) for c in (7, 10, 12, 13)]
    [1.0, 0.2, 0.0, 0.0]
    """
    by_common = np.zeros(256, dtype="float32")
    for name, w in config.calibration_likelihood.items():
        if isinstance(name, str):
            by_common[COMMON_CLASSES[name]] = w
    lut = by_common[common_lookup(scheme)]
    for code, w in config.calibration_likelihood.items():
        if isinstance(code, int):  # a source code overrides its common class
            lut[code] = w
    return lut


def built_codes(scheme: str) -> list[int]:
    """Source codes of the scheme's built-up classes."""
    return [c for c, (common, _) in SCHEMES[scheme].items() if common == COMMON_CLASSES["built"]]


#: The limits, in the order they are applied; a cell's eligible fraction is removed by the
#: first limit that blocks it.
RULES = ("farmland", "built_margin", "slope", "elevation", "climate", "climate_zone", "reserved")
#: Fates of a cell (:func:`land_fates`): eligible outside / inside the shrubs-only climate zone,
#: removed by ``RULES[k]`` (``FATE_REMOVED + k``), no land-cover data.
FATE_ELIGIBLE, FATE_ELIGIBLE_SHRUB, FATE_REMOVED, FATE_NODATA = 0, 1, 2, 255
#: Number of fates of a cell with data.
N_FATES = FATE_REMOVED + len(RULES)


def land_fates(
    codes_valid: np.ndarray,
    config: SinksConfig,
    limits: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, list[str]]:
    """What happens to each cell's plantable fraction: kept, or removed by which limit.

    Parameters
    ----------
    codes_valid : numpy.ndarray
        True where the land cover holds data.
    config : SinksConfig
        Limits.
    limits : dict
        As in :func:`land_fractions`.

    Returns
    -------
    tuple
        ``(fate, rules)``: uint8 per cell, :data:`FATE_ELIGIBLE`, :data:`FATE_ELIGIBLE_SHRUB`,
        ``FATE_REMOVED + RULES.index(rule)`` for the first limit that blocks the cell, or
        :data:`FATE_NODATA`; and the rules applied, in order.

    Examples
    --------
    >>> cfg = SinksConfig(max_slope_deg=25, built_margin_m=0)
    >>> near = np.array([[True, False, False]])
    >>> slope = (np.array([[30.0, 30.0, 5.0]]), np.ones((1, 3), bool))
    >>> fate, rules = land_fates(np.ones((1, 3), bool), cfg, {"built_near": near, "slope": slope})
    >>> fate.tolist(), rules
    ([[3, 4, 0]], ['built_margin', 'slope'])
    """
    fate = np.zeros(codes_valid.shape, dtype="uint8")
    rules: list[str] = []

    def remove(rule: str, blocked: np.ndarray) -> None:
        fate[blocked & (fate == FATE_ELIGIBLE)] = FATE_REMOVED + RULES.index(rule)
        rules.append(rule)

    if "farmland" in limits:
        remove("farmland", limits["farmland"])
    if "built_near" in limits:
        remove("built_margin", limits["built_near"])
    if "slope" in limits and config.max_slope_deg is not None:
        s, sv = limits["slope"]
        remove("slope", ~sv | (s > config.max_slope_deg))
    if "dem" in limits and (
        config.min_elevation_m is not None or config.max_elevation_m is not None
    ):
        d, dv = limits["dem"]
        blocked = ~dv
        if config.min_elevation_m is not None:
            blocked |= d < config.min_elevation_m
        if config.max_elevation_m is not None:
            blocked |= d > config.max_elevation_m
        remove("elevation", blocked)
    if config.climate_limits:
        blocked = np.zeros(codes_valid.shape, dtype=bool)
        for lim in config.climate_limits:
            c, cv = limits[f"climate:{lim.layer}"]
            blocked |= ~cv
            if lim.min_value is not None:
                blocked |= c < lim.min_value
            if lim.max_value is not None:
                blocked |= c > lim.max_value
        remove("climate", blocked)
    shrub_zone = None
    if "zones" in limits:
        z = config.climate_zones
        v, vv = limits["zones"]
        remove("climate_zone", ~vv | (v < z.shrub_min_value))
        shrub_zone = vv & (v >= z.shrub_min_value) & (v < z.tree_min_value)
    if "reserved" in limits:
        r, rv = limits["reserved"]
        remove("reserved", rv & (r > config.reserved_min_value))
    if shrub_zone is not None:
        fate[shrub_zone & (fate == FATE_ELIGIBLE)] = FATE_ELIGIBLE_SHRUB
    fate[~codes_valid] = FATE_NODATA
    return fate, rules


def land_fractions(
    codes: np.ndarray,
    codes_valid: np.ndarray,
    config: SinksConfig,
    luts: tuple[np.ndarray, np.ndarray],
    limits: dict[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Forest credit, eligible fraction and per-limit removals for one block of cells.

    Parameters
    ----------
    codes : numpy.ndarray
        Source land-cover codes (already checked against the layer's scheme when the layer
        was aligned).
    codes_valid : numpy.ndarray
        True where ``codes`` holds data.
    config : SinksConfig
        Limits and credits.
    luts : tuple of numpy.ndarray
        From :func:`credit_lookups`.
    limits : dict
        Optional ``"slope"``, ``"dem"``, ``"reserved"``, ``"zones"`` and ``"climate:<layer>"``
        entries, each ``(values, valid)`` on the same block, and ``"farmland"`` and
        ``"built_near"`` boolean blocks (True = not planted).

    Returns
    -------
    dict of str to numpy.ndarray
        float32 arrays ``forest``, ``eligible``, ``eligible_shrub``, ``eligible_landcover``,
        ``likely_forest`` (when ``luts`` has a third, likelihood, table) and ``removed_<rule>``
        for each rule applied; ``NODATA`` where land cover has no data.
    """
    safe = np.where(codes_valid, codes, 0).astype("int64")
    fate, rules = land_fates(codes_valid, config, limits)
    forest = np.where(codes_valid, luts[0][safe], NODATA).astype("float32")
    eligible = np.where(codes_valid, luts[1][safe], 0.0).astype("float32")
    out = {"forest": forest, "eligible_landcover": _nodata_outside(eligible.copy(), codes_valid)}
    for rule in rules:
        removed = np.where(fate == FATE_REMOVED + RULES.index(rule), eligible, 0.0)
        out[f"removed_{rule}"] = _nodata_outside(removed.astype("float32"), codes_valid)
    out["eligible_shrub"] = _nodata_outside(
        np.where(fate == FATE_ELIGIBLE_SHRUB, eligible, 0.0).astype("float32"), codes_valid
    )
    out["eligible"] = eligible_fraction(eligible, fate)
    if len(luts) > 2:
        likely = (luts[2][safe] * np.clip(1.0 - luts[0][safe], 0.0, 1.0)).astype("float32")
        out["likely_forest"] = _nodata_outside(likely, codes_valid)
    if len(luts) > 3:
        out["builtup"] = _nodata_outside(luts[3][safe].astype("float32"), codes_valid)
    return out


def eligible_fraction(landcover_credit: np.ndarray, fate: np.ndarray) -> np.ndarray:
    """The eligible fraction (float32, ``NODATA`` off data): the credit where no limit blocks.

    Parameters
    ----------
    landcover_credit : numpy.ndarray
        float32 eligible credit of each cell's land-cover class.
    fate : numpy.ndarray
        From :func:`land_fates`.
    """
    out = np.where(fate <= FATE_ELIGIBLE_SHRUB, landcover_credit, 0.0).astype("float32")
    out[fate == FATE_NODATA] = NODATA
    return out


def _nodata_outside(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    a[~valid] = NODATA
    return a


@dataclass(frozen=True)
class LandRasters:
    """The fraction rasters of one run.

    Attributes
    ----------
    forest : AlignedLayer
        Fraction of each cell counted as forest.
    eligible : AlignedLayer
        Fraction of each cell eligible for afforestation after all limits.
    eligible_landcover : AlignedLayer
        Fraction eligible by land cover alone.
    removed : dict of str to AlignedLayer
        Per limit (``farmland``, ``built_margin``, ``slope``, ``elevation``, ``climate``,
        ``climate_zone``, ``reserved``), the eligible fraction it removed.
    eligible_shrub : AlignedLayer
        Part of ``eligible`` in the shrubs-only climate zone.
    likely_forest : AlignedLayer
        Weight of unmapped forest per cell (calibration ``distribute``).
    builtup : AlignedLayer
        1 on built-up land-cover cells (urban-district rule).
    """

    forest: AlignedLayer
    eligible: AlignedLayer
    eligible_landcover: AlignedLayer
    removed: dict[str, AlignedLayer]
    eligible_shrub: AlignedLayer
    likely_forest: AlignedLayer
    builtup: AlignedLayer


def compute_land_rasters(
    grid: GridSpec,
    rasters: dict[str, AlignedLayer],
    config: SinksConfig,
    out_dir: str | Path,
    *,
    mem_limit_mb: float,
    reserved: AlignedLayer | None = None,
    eligible_path: str | Path | None = None,
    tile_size: int | None = None,
    vectors: dict | None = None,
) -> LandRasters:
    """Compute forest-credit and eligible-fraction rasters window by window.

    Per-cell diagnostics (why land was or was not plantable, limit by limit). The sinks stage
    itself does not write them: it sums the same per-cell fractions (:func:`land_fates`) per
    county inside one pass (:func:`sxplan.sinks._land_pass.sum_land_by_county`), and its tests
    check those sums against these rasters summed by exactextract.

    Parameters
    ----------
    grid : GridSpec
        The run's grid.
    rasters : dict of str to AlignedLayer
        Aligned layers by name (land cover, slope, DEM, climate).
    config : SinksConfig
        Which layers and limits to use.
    out_dir : str or pathlib.Path
        Folder for the fraction rasters (``forest.tif``, ``eligible_landcover.tif`` ...).
    mem_limit_mb : float
        Memory budget for the tiles in flight.
    reserved : AlignedLayer, optional
        Renewables reservation on the grid; cells above ``config.reserved_min_value`` are not
        planted.
    eligible_path : str or pathlib.Path, optional
        Where to write the eligible raster (a Cloud-Optimized GeoTIFF); default
        ``out_dir/afforestation_eligible.tif``.
    tile_size : int, optional
        Force the tile side in cells (tests).
    vectors : dict of str to geopandas.GeoDataFrame, optional
        Vector layers by name (a polygon ``farmland_layer``).

    Returns
    -------
    LandRasters
    """
    out_dir = Path(out_dir)
    from ._land_inputs import prepare_land_inputs  # it imports this module's lookups

    inputs = prepare_land_inputs(grid, rasters, config, reserved=reserved, vectors=vectors)
    rules = inputs.rules
    names = [
        "forest",
        "eligible",
        "eligible_landcover",
        "eligible_shrub",
        "likely_forest",
        "builtup",
    ] + [f"removed_{r}" for r in rules]
    paths = {n: out_dir / f"{n}.tif" for n in names}
    paths["eligible"] = (
        Path(eligible_path) if eligible_path else out_dir / "afforestation_eligible.tif"
    )
    tiles = plan_tiles(
        grid,
        mem_limit_mb=mem_limit_mb,
        bytes_per_cell=_BYTES_PER_CELL,
        tile_size=tile_size,
        halo=inputs.halo,
        n_workers=Budget.workers(),  # tiles computed at once share the budget
    )

    def compute(tile):
        codes, valid, limits = inputs.read(tile)
        return land_fractions(codes, valid, config, inputs.luts, limits)

    writers = {
        n: RasterTileWriter(
            paths[n],
            grid,
            "float32",
            NODATA,
            cog=(n == "eligible"),
            tags={"units": "fraction of cell", "description": n},
            compress=None if n == "eligible" else SCRATCH_COMPRESS,
        )
        for n in names
    }

    def write(tile, result):
        for n in names:
            writers[n].write(result[n], tile.window)

    with contextlib.ExitStack() as stack:
        for w in writers.values():
            stack.enter_context(w)
        run_tiles(tiles, compute, write)
    layer = {n: writers[n].layer(n, "fraction") for n in names}
    return LandRasters(
        layer["forest"],
        layer["eligible"],
        layer["eligible_landcover"],
        {r: layer[f"removed_{r}"] for r in rules},
        layer["eligible_shrub"],
        layer["likely_forest"],
        layer["builtup"],
    )


def eligible_after_calibration(
    land: LandRasters,
    share: float,
    path: str | Path,
    *,
    mem_limit_mb: float,
    tile_size: int | None = None,
) -> AlignedLayer:
    """Plantable fraction left once calibration ``distribute`` adds unmapped forest (a raster).

    The sinks stage takes the county sums of this raster from its land pass instead
    (:meth:`sxplan.sinks._land_pass.LandSums.eligible_after_calibration_ha`); this writes the
    per-cell values, for inspection and as the tests' reference.

    Calibration puts ``share x likely_forest`` of each cell under forest; planting can only use
    what is left of the cell: ``min(eligible, max(0, 1 - forest - share x likely_forest))``.

    Parameters
    ----------
    land : LandRasters
        From :func:`compute_land_rasters`.
    share : float
        The calibration share (:attr:`~sxplan.sinks.baseline.Calibration.factor`).
    path : str or pathlib.Path
        Output GeoTIFF (float32, nodata -1).
    mem_limit_mb : float
        Memory budget.
    tile_size : int, optional
        Force the tile side in cells (tests).

    Returns
    -------
    AlignedLayer

    Examples
    --------
    A grass cell with 0.15 plantable, no mapped forest, likelihood 0.3 and share 0.5 keeps
    ``min(0.15, 1 - 0 - 0.15) = 0.15``; a savanna cell with 0.5 plantable and likelihood 1.0
    keeps ``min(0.5, 1 - 0.5) = 0.5``; with share 0.8 it keeps ``0.2``.
    """
    grid = land.eligible.grid
    tiles = plan_tiles(
        grid,
        mem_limit_mb=mem_limit_mb,
        bytes_per_cell=_AFTER_BYTES_PER_CELL,
        tile_size=tile_size,
        n_workers=Budget.workers(),
    )

    def compute(tile):
        e, ev = land.eligible.read_valid(tile.window)
        f, _ = land.forest.read_valid(tile.window)
        lk, _ = land.likely_forest.read_valid(tile.window)
        room = np.clip(1.0 - f - share * lk, 0.0, 1.0)
        return np.where(ev, np.minimum(e, room), NODATA).astype("float32")

    with RasterTileWriter(
        path, grid, "float32", NODATA, tags={"units": "fraction of cell"}, compress=SCRATCH_COMPRESS
    ) as writer:
        run_tiles(tiles, compute, lambda tile, r: writer.write(r, tile.window))
    return writer.layer("eligible_after_calibration", "fraction")
