"""The land tile pass of the sinks stage, with the county sums formed inside it.

One pass over the grid, tile by tile: read the land cover and the limit layers, find each
cell's fate (:func:`~sxplan.sinks.eligible.land_fates`: eligible, eligible in the shrubs-only
zone, or removed by which limit), write the eligible fraction (``afforestation_eligible.tif``,
a real output) and add to per-county sums. No other raster is written and none is read again.

Every fraction the stage sums per county (forest credit, eligible, eligible by land cover, the
shrub-zone part, the likelihood of unmapped forest, built-up, the part each limit removed) is a
lookup of the cell's land-cover code times an indicator of its fate. So per county it is enough
to know the coverage-weighted number of cells of each (fate, land-cover value) pair: a small
table ``H[county, fate, slot]`` (``slot`` numbers the distinct lookup values), accumulated per
tile from the exact coverage of :class:`~sxplan.layers.zonal.ZoneCover` (integer counts of the
cells wholly inside a county, plus the coverage of the cells a boundary cuts). A county sum is
then ``sum_slot H[county, fates, slot] x value[slot] x cell area``: what exactextract gives from
the fraction rasters (``sum_i f_i c_i``), the additions in another order. The plantable land
left after calibration, ``min(eligible, clip(1 - forest - share x likelihood, 0, 1))``, is a
function of the code for every eligible cell too, so it comes from the same table for any share,
without a second pass.

Inputs: a :class:`~sxplan.sinks._land_inputs.LandInputs` (via :func:`sum_land_by_county`), a
:class:`~sxplan.layers.zonal.ZoneCover` of the counties. Outputs: :class:`LandSums` and the
eligible raster (plus the reservation's removals when a reservation is given).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.layers.budget import Budget
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer, RasterTileWriter
from sxplan.layers.open_datasets import keep_datasets_open
from sxplan.layers.windows import plan_tiles, run_tiles
from sxplan.layers.zonal import ZoneCover, ZoneSums

from ._land_inputs import prepare_land_inputs
from .config import SinksConfig
from .eligible import (
    FATE_ELIGIBLE,
    FATE_ELIGIBLE_SHRUB,
    FATE_NODATA,
    FATE_REMOVED,
    N_FATES,
    NODATA,
    RULES,
    SCRATCH_COMPRESS,
    eligible_fraction,
    land_fates,
)

__all__ = ["LandSums", "sum_land_by_county"]

# Working set per cell and tile worker: computing a tile peaks at ~36 B/cell (tracemalloc, sync
# scheduler, the benchmark's 250 m data in tiles of 1,024 cells; 49 B/cell in tiles of 512, where
# fixed costs weigh more): land cover, DEM, derived slope, the built-up margin's distances,
# fates, classes, zone labels, int64 bin numbers. A computed tile waiting to be written holds
# 4 B/cell (the float32 eligible fraction); run_tiles keeps at most two tiles per worker in
# flight. 56 leaves a margin over 36 + 4 for tiles of other shapes and halos.
_BYTES_PER_CELL = 56


@dataclass(frozen=True)
class LandSums:
    """County sums of the land pass, and the rasters it wrote.

    Attributes
    ----------
    sums : pandas.DataFrame
        One row per county: ``valid_ha``, ``forest_ha``, ``eligible_ha``,
        ``eligible_landcover_ha``, ``eligible_shrub_ha``, ``likely_forest_ha``, ``builtup_ha``
        and ``removed_<rule>_ha`` per limit applied (as
        :func:`~sxplan.sinks.baseline.county_sums_ha` gives them from the fraction rasters).
    eligible : AlignedLayer
        The eligible fraction raster (a COG).
    removed_reserved : AlignedLayer or None
        The plantable fraction the renewables reservation removed (when one was given).
    mean : numpy.ndarray or None
        Per county, the coverage-weighted mean of the ``mean_layer`` (NaN without data).
    coverage : numpy.ndarray
        ``(county, fate, slot)`` coverage-weighted cell counts.
    slot_values : dict of str to numpy.ndarray
        float32 lookup values per slot: ``forest``, ``eligible``, ``likely`` (the weight of
        unmapped forest) and ``builtup``.
    cell_ha : float
        Area of one cell in hectares.
    """

    sums: pd.DataFrame
    eligible: AlignedLayer
    removed_reserved: AlignedLayer | None
    mean: np.ndarray | None
    coverage: np.ndarray
    slot_values: dict
    cell_ha: float

    def eligible_after_calibration_ha(self, share: float) -> np.ndarray:
        """Per county, plantable hectares left once calibration adds ``share x likelihood``.

        The county sums of :func:`~sxplan.sinks.eligible.eligible_after_calibration`'s raster:
        each eligible cell keeps ``min(eligible, clip(1 - forest - share x likely, 0, 1))``
        (float32, the same operations), summed with the cells' coverage.
        """
        v = self.slot_values
        room = np.clip(1.0 - v["forest"] - share * v["likely"], 0.0, 1.0)
        left = np.minimum(v["eligible"], room).astype("float32").astype("float64")
        held = self.coverage[:, FATE_ELIGIBLE] + self.coverage[:, FATE_ELIGIBLE_SHRUB]
        return held @ left * self.cell_ha


def _tile_budget(mem_limit_mb, held_bytes: float) -> Budget:
    """The land pass's tile budget: :meth:`Budget.run_tiles` of what ``held_bytes`` leave.

    The county cover and sums are held through the whole pass (China at 90 m: 278 + 210 MB,
    ``benchmarks/README.md``), so the tiles plan with the rest of ``mem_limit_mb`` (MB or a
    :class:`Budget`). At least a quarter of it is planned for: chosen, not measured, so that a
    cover larger than the budget still gets tiles of a workable size (the run then exceeds
    its budget by about the cover's excess).

    Examples
    --------
    >>> _tile_budget(1024, 512 * 2**20).mem_limit_mb  # Budget(512): max(128, 256 - 32 cache)
    224.0
    >>> _tile_budget(Budget(1024), 1000 * 2**20).mem_limit_mb  # Budget(256): max(64, 128 - 32)
    96.0
    """
    mb = Budget.of(mem_limit_mb).mem_limit_mb
    return Budget(max(mb / 4, mb - held_bytes / 2**20)).run_tiles()


def _slots(luts) -> tuple[np.ndarray, dict]:
    """Number the distinct (forest, eligible, likely, builtup) values of the lookups."""
    forest, eligible, likelihood, builtup = luts
    # the unmapped-forest weight as land_fractions forms it, cell by cell, in float32
    likely = (likelihood * np.clip(1.0 - forest, 0.0, 1.0)).astype("float32")
    table = np.stack([forest, eligible, likely, builtup], axis=1)
    uniq, inverse = np.unique(table, axis=0, return_inverse=True)
    dtype = "uint8" if len(uniq) <= 256 else "uint16"
    names = ("forest", "eligible", "likely", "builtup")
    return inverse.ravel().astype(dtype), {n: uniq[:, i].copy() for i, n in enumerate(names)}


def sum_land_by_county(
    grid: GridSpec,
    rasters: dict[str, AlignedLayer],
    config: SinksConfig,
    cover: ZoneCover,
    *,
    eligible_path: str | Path,
    mem_limit_mb: float,
    reserved: AlignedLayer | None = None,
    removed_reserved_path: str | Path | None = None,
    mean_layer: AlignedLayer | None = None,
    tile_size: int | None = None,
    vectors: dict | None = None,
) -> LandSums:
    """One tile pass: eligible raster and exact county sums of every land fraction.

    Parameters
    ----------
    grid : GridSpec
        The run's grid.
    rasters : dict of str to AlignedLayer
        Aligned layers by name (land cover, slope, DEM, climate).
    config : SinksConfig
        Which layers and limits to use.
    cover : ZoneCover
        Exact coverage of the grid by the counties (:func:`sxplan.layers.zonal.zone_cover`).
    eligible_path : str or pathlib.Path
        Where to write the eligible fraction (a Cloud-Optimized GeoTIFF).
    mem_limit_mb : float or Budget
        The memory budget of the process; tiles get :meth:`Budget.run_tiles` of what the
        cover and the county sums leave of it (at least a quarter of it).
    reserved : AlignedLayer, optional
        Renewables reservation on the grid.
    removed_reserved_path : str or pathlib.Path, optional
        Where to write the fraction the reservation removed (needed with ``reserved``).
    mean_layer : AlignedLayer, optional
        A raster to average per county (the DEM for ecological zones by elevation).
    tile_size : int, optional
        Force the tile side in cells (tests).
    vectors : dict of str to geopandas.GeoDataFrame, optional
        Vector layers by name (a polygon ``farmland_layer``).

    Returns
    -------
    LandSums
    """
    inputs = prepare_land_inputs(grid, rasters, config, reserved=reserved, vectors=vectors)
    if mean_layer is not None:
        grid.require_same(mean_layer.grid, f"layer '{mean_layer.name}' ({mean_layer.path})")
    slot_of, slot_values = _slots(inputs.luts)
    n_slots = len(slot_values["forest"])
    n_classes = N_FATES * n_slots
    eligible_lut = inputs.luts[1]
    reserved_fate = FATE_REMOVED + RULES.index("reserved")
    write_removed = "reserved" in inputs.rules
    dem_limit = inputs.limit_layers.get("dem")
    n = cover.n_zones
    acc = ZoneSums(cover, n_classes=n_classes, values=mean_layer is not None)
    # the cover and the sums are held through the pass (per run of cells and per boundary
    # cell: hundreds of MB for a national grid), so the tiles plan with what is left
    tiles = plan_tiles(
        grid,
        bytes_per_cell=_BYTES_PER_CELL,
        tile_size=tile_size,
        halo=inputs.halo,
        n_workers=Budget.workers(),  # tiles computed at once share the budget
        budget=_tile_budget(mem_limit_mb, cover.nbytes + acc.nbytes),
    )

    def compute(tile):
        codes, valid, limits = inputs.read(tile)
        fate, _ = land_fates(valid, config, limits)
        index = codes if codes.dtype.kind == "u" and codes.dtype.itemsize <= 2 else None
        if index is None:
            index = np.where(valid, codes, 0).astype("int64")
        classes = fate.astype("int32")
        classes *= n_slots
        classes += slot_of[index]
        classes[fate == FATE_NODATA] = -1
        credit = eligible_lut[index]
        removed = None
        if write_removed:
            removed = np.where(fate == reserved_fate, credit, 0.0).astype("float32")
            removed[fate == FATE_NODATA] = NODATA
        values = ok = None
        if mean_layer is not None:
            values, ok = (
                limits["dem"] if mean_layer is dem_limit else mean_layer.read_valid(tile.window)
            )
        part = share_of(tile.window, classes=classes, values=values, valid=ok)
        return part, eligible_fraction(credit, fate), removed

    share_of = acc.part_function()  # no accumulator state in the tile closure
    writers = {
        "eligible": RasterTileWriter(
            eligible_path,
            grid,
            "float32",
            NODATA,
            cog=True,
            tags={"units": "fraction of cell", "description": "eligible"},
        )
    }
    if write_removed:
        if removed_reserved_path is None:
            raise ValueError("removed_reserved_path is needed with a reservation")
        writers["removed_reserved"] = RasterTileWriter(
            removed_reserved_path,
            grid,
            "float32",
            NODATA,
            tags={"units": "fraction of cell", "description": "removed_reserved"},
            compress=SCRATCH_COMPRESS,
        )

    def write(tile, result):
        part, eligible, removed = result
        acc.add(part)  # totals independent of scheduler and tiling (ZoneSums)
        writers["eligible"].write(eligible, tile.window)
        if removed is not None:
            writers["removed_reserved"].write(removed, tile.window)

    with contextlib.ExitStack() as stack:
        for w in writers.values():
            stack.enter_context(w)
        with keep_datasets_open():  # inputs decoded once per block, not once per tile
            run_tiles(tiles, compute, write)
    coverage = acc.class_coverage().reshape(n, N_FATES, n_slots)
    cell_ha = grid.res * grid.res / 1e4
    sums = _county_table(coverage, slot_values, inputs.rules, cell_ha)
    means = None
    if mean_layer is not None:
        mean_sum, mean_count = acc.weighted_sums()
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(mean_count > 0, mean_sum / mean_count, np.nan)
    return LandSums(
        sums,
        writers["eligible"].layer("eligible", "fraction"),
        writers["removed_reserved"].layer("removed_reserved", "fraction")
        if write_removed
        else None,
        means,
        coverage,
        slot_values,
        cell_ha,
    )


def _county_table(coverage, slot_values, rules, cell_ha) -> pd.DataFrame:
    """County sums in hectares from the (county, fate, slot) coverage table."""
    v = {k: a.astype("float64") for k, a in slot_values.items()}
    every = coverage.sum(axis=1)
    kept = coverage[:, FATE_ELIGIBLE] + coverage[:, FATE_ELIGIBLE_SHRUB]
    out = {
        "valid_ha": every.sum(axis=1),
        "forest_ha": every @ v["forest"],
        "eligible_ha": kept @ v["eligible"],
        "eligible_landcover_ha": every @ v["eligible"],
        "eligible_shrub_ha": coverage[:, FATE_ELIGIBLE_SHRUB] @ v["eligible"],
        "likely_forest_ha": every @ v["likely"],
        "builtup_ha": every @ v["builtup"],
    }
    for rule in rules:
        out[f"removed_{rule}_ha"] = coverage[:, FATE_REMOVED + RULES.index(rule)] @ v["eligible"]
    return pd.DataFrame({k: a * cell_ha for k, a in out.items()})
