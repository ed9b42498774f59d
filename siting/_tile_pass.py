"""The shared windowed pass: every technology's exclusions, scores and parcel pieces per tile.

Each tile is read once and serves every parcel technology: exclusion codes and suitability
scores are written tile by tile, and the parcel pieces of each technology, with their
statistics, are accumulated for :meth:`~sxplan.siting.parcels.ParcelAccumulator.finish`.
Reads, the study area, exclusion rules shared by technologies, the derived slope and land-cover
classes are computed once per tile (cached in the :class:`~sxplan.siting._context.TileContext`).

Inputs: :class:`~sxplan.siting._run_inputs.SitingInputs`, the technologies to run, an output
folder, a memory budget.
Outputs: ``suitability_<tech>.tif``, ``excluded_by_rule_<tech>.tif``,
``rules_applying_<tech>.tif`` and ``criterion_<tech>_<name>.tif`` (not with
``siting.criterion_rasters: false``; the tiles stay the same); per technology a
:class:`TechPass` holding the accumulated parcel pieces and area counts.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import shapely

from sxplan.layers.budget import Budget
from sxplan.layers.cog import float_tile_compress
from sxplan.layers.io import RasterTileWriter
from sxplan.layers.landcover import scheme_of, to_common
from sxplan.layers.raster_style import CategoricalTileWriter
from sxplan.layers.windows import plan_tiles, run_tiles

from ._context import TileContext
from .ahp import weights_from_config
from .exclusion_table import rule_categories
from .exclusions import NO_DATA_CODE, OUTSIDE_CODE, compile_rules, study_area_tile
from .parcels import ParcelAccumulator, block_side_cells, empty_piece_tile, piece_tile
from .suitability import CompiledCriteria
from .technology import Technology

__all__ = ["TechCompute", "TechPass", "TileOptions", "WriterStack", "shared_pass"]


@dataclass(frozen=True)
class TileOptions:
    """How windowed passes run.

    Attributes
    ----------
    budget : sxplan.layers.budget.Budget
        Memory budget for tiles in flight (and all the sizes derived from it).
    scheduler : str or None
        Tile scheduler for :func:`sxplan.layers.windows.run_tiles`.
    tile_size : int or None
        Forced tile side in cells (tests).
    pieces_bytes : float or None
        Bytes of parcel pieces a pass holds in memory, all technologies together, before
        they go to scratch files (:attr:`sxplan.layers.budget.Budget.pieces_held_bytes`);
        None: all held.
    """

    budget: Budget
    scheduler: str | None = None
    tile_size: int | None = None
    pieces_bytes: float | None = None


class TechCompute:
    """What a tile task needs for one technology (picklable: no open files, no accumulators).

    Parameters
    ----------
    technology : Technology
        The technology (its settings, layers and per-cell energy).
    cfg : SitingConfig
        The ``siting:`` settings.
    grid : GridSpec
        The run's grid.
    layers : LayerSet
        The run's layers.
    n_counties : int
        Number of counties (county index 1..n per cell, 0 = outside).
    """

    def __init__(self, technology: Technology, cfg, grid, layers, n_counties):
        tech = technology.name
        tcfg = technology.settings(cfg)
        self.technology = technology
        self.settings = tcfg
        self.tech = tech
        self.rules = compile_rules(cfg, tech, layers)
        self.weights, self.ahp = weights_from_config(tcfg)
        self.crit = CompiledCriteria(tcfg.criteria, self.weights, layers)
        need = technology.layers(tcfg)
        self.resource = layers.raster(need.resource, f"{tech}.resource_layer")
        self.energy_layer = layers.raster(need.energy, f"{tech}.{need.energy_key}").name
        self.cell_energy = technology.cell_energy(tcfg)
        self.slope_name = cfg.slope_layer if cfg.slope_layer in layers.rasters else None
        self.lc_name = cfg.landcover_layer if cfg.landcover_layer in layers.rasters else None
        self.lc_scheme = (
            scheme_of(layers.rasters[self.lc_name], needed_by="siting.landcover_layer")
            if self.lc_name
            else None
        )
        self.lc_nodata = layers.rasters[self.lc_name].nodata if self.lc_name else None
        self.required = list(
            dict.fromkeys(self.rules.hard_rasters + [self.resource.name, self.energy_layer])
        )
        self.n_counties = n_counties
        cell_km2 = grid.cell_area_km2
        self.grid_width = grid.width
        self.block = block_side_cells(tcfg.max_parcel_area_km2, cell_km2)
        self.min_cells = tcfg.min_parcel_area_km2 / cell_km2
        self.max_cells = tcfg.max_parcel_area_km2 / cell_km2
        self.thr = float(tcfg.score_threshold)
        self.connectivity = tcfg.connectivity
        # criterion rasters another technology writes identically (set by shared_pass)
        self.shared_records: dict[str, tuple[str, str]] = {}
        # the criteria whose rasters are written (none with siting.criterion_rasters: false)
        self.recorded = list(self.crit.names) if cfg.criterion_rasters else []

    @property
    def halo(self) -> int:
        """Cells of halo the tile needs (rules and criteria)."""
        return max(self.rules.halo, self.crit.halo)

    @property
    def bytes_per_cell(self) -> int:
        """Memory per cell of a tile in flight, for the tile planner."""
        # codes, score, factor, masks, county, parcel values (float64), criteria arrays, the
        # per-rule bits and the criterion scores written out (counted with criterion_rasters:
        # false too, so the tiles, and every other output, are the same either way)
        return 128 + 28 * len(self.crit.items)

    def compute(self, tile, ctx, county, study):
        """Codes, scores, counts and parcel pieces of one tile, and the per-cell record.

        Returns ``(code, score, extra, record)``; ``record`` holds the bits of every rule
        selecting each cell and each criterion's score on the whole study area (backtests).
        """
        code, score, extra, ex, cr = self._compute(tile, ctx, county, study)
        record = {"rules": ex.rule_bits}
        for name in self.recorded:
            if name in self.shared_records:
                continue
            s = cr.scores[name] if cr is not None else np.full(ctx.shape, np.nan, "float32")
            # float32 scores: one array, no float64 temporary (same values as before)
            record[name] = np.where(study, s, np.float32(np.nan)).astype("float32", copy=False)
        return code, score, extra, record

    def _compute(self, tile, ctx, county, study):
        ex = self.rules.evaluate(ctx, study)
        code = ex.code
        if not study.any():
            return code, np.full(ctx.shape, np.nan, "float32"), None, ex, None
        cr = self.crit.evaluate(ctx)
        missing = np.zeros(ctx.shape, dtype=bool)
        for name in self.required:
            missing |= ~ctx.read(name, what=f"{self.tech} inputs")[1]
        for arr in cr.raw.values():
            missing |= np.isnan(arr)
        code[(code == 0) & missing] = NO_DATA_CODE
        eligible = code == 0
        scaled = np.minimum(cr.combined * ex.score_factor, 1.0)  # preferences cap at 1
        score = np.where(eligible, scaled, np.nan).astype("float32")
        candidate = eligible & (score >= self.thr)
        n = self.n_counties + 1
        counts = {
            "seq": np.bincount(code[study], minlength=256),
            "alone": ex.alone_cells,
            "soft_seq": np.array(
                [0 if m is None else int(np.count_nonzero(m & eligible)) for m in ex.soft_masks],
                dtype="int64",
            ),
            "returned": np.array(
                [
                    0 if m is None else int(np.count_nonzero(m & eligible))
                    for m in ex.returned_masks
                ],
                dtype="int64",
            ),
            "nodata_alone": int(np.count_nonzero(missing & study)),
            "eligible_county": np.bincount(county[eligible], minlength=n),
            "candidate_county": np.bincount(county[candidate], minlength=n),
        }
        if not candidate.any():
            return code, score, (counts, None), ex, cr
        values = {"score": score, "resource": ctx.read_float(self.resource.name)}
        values["energy"] = self.cell_energy(ctx.read_float(self.energy_layer))
        if self.slope_name:
            values["slope"] = ctx.read_float(self.slope_name)
        for name in self.crit.names:
            values[f"crit_{name}"] = cr.raw[name]
            values[f"score_{name}"] = cr.scores[name]
        lc = None
        if self.lc_name:
            lc = ctx.cached(
                ("common_landcover", self.lc_name),
                lambda: to_common(
                    ctx.read(self.lc_name)[0], self.lc_scheme, self.lc_nodata, what=self.lc_name
                ),
            )
        pt = piece_tile(
            candidate, row_off=int(tile.window.row_off), col_off=int(tile.window.col_off),
            grid_width=self.grid_width, block_cells=self.block,
            connectivity=self.connectivity, min_cells=self.min_cells, values=values,
            max_fields=("score",), landcover=lc, county=county,
        )  # fmt: skip
        return code, score, (counts, pt), ex, cr


class TechPass:
    """One technology's part of the shared pass: its compute spec, writers and accumulators.

    Parameters
    ----------
    technology : Technology
        The technology.
    cfg, grid, layers, counties
        The run's settings, grid, layers and counties.
    spill_dir : pathlib.Path, optional
        Scratch folder for the pieces held beyond ``spill_bytes`` (removed by the caller).
    spill_bytes : float, optional
        Bytes of pieces held in memory (:class:`ParcelAccumulator`).
    """

    def __init__(
        self, technology: Technology, cfg, grid, layers, counties, spill_dir=None, spill_bytes=None
    ):
        t0 = time.perf_counter()
        self.tech = technology.name
        self.spec = TechCompute(technology, cfg, grid, layers, len(counties))
        sp = self.spec
        self.acc = ParcelAccumulator(
            grid.shape, sp.block, sp.connectivity, sp.min_cells, sp.max_cells,
            spill_dir=spill_dir, spill_bytes=spill_bytes,
        )  # fmt: skip
        n_rules = len(sp.rules.rules)
        n_counties = len(counties)
        self.totals = {
            "seq": np.zeros(256, dtype="int64"),
            "alone": np.zeros(n_rules, dtype="int64"),
            "soft_seq": np.zeros(n_rules, dtype="int64"),
            "returned": np.zeros(n_rules, dtype="int64"),
            "nodata_alone": 0,
            "eligible_county": np.zeros(n_counties + 1, dtype="int64"),
            "candidate_county": np.zeros(n_counties + 1, dtype="int64"),
        }
        self.timings = {"compile": round(time.perf_counter() - t0, 3)}

    def float_rasters(self) -> int:
        """How many float32 rasters :meth:`open_writers` opens (scores and criteria)."""
        return 1 + sum(n not in self.spec.shared_records for n in self.spec.recorded)

    def open_writers(self, stack, paths, grid, cog, float_compress=None):
        """Open the exclusion-code and suitability rasters (closed by ``stack``).

        ``paths`` maps ``excluded_by_rule``, ``suitability``, ``rules_applying`` and
        ``criterion`` (a callable of the criterion name) to this technology's files;
        ``float_compress`` is the float tile files' codec (None: the writer's default).
        """
        self._writers = stack
        self.code_path = paths["excluded_by_rule"]
        self.suit_path = paths["suitability"]
        self.record_paths = {"rules": paths["rules_applying"]}
        self.record_paths.update({n: paths["criterion"](n) for n in self.spec.recorded})
        self.copies = {}  # criterion rasters copied from an identical one of another technology
        self.wrecord = {
            "rules": stack.enter_context(
                RasterTileWriter(
                    self.record_paths["rules"], grid, self.spec.rules.bits_dtype, None, cog=cog,
                    kind="categorical",
                    tags={"units": "bit i = rule of order i+1 in exclusions.csv selects the cell"},
                )
            )
        }  # fmt: skip
        for n in self.spec.recorded:
            if n in self.spec.shared_records:
                continue
            self.wrecord[n] = stack.enter_context(
                RasterTileWriter(
                    self.record_paths[n], grid, "float32", float("nan"), cog=cog,
                    kind="continuous", tags={"units": "score 0-1", "criterion": n},
                    compress=float_compress,
                )
            )  # fmt: skip
        self.wcode = stack.enter_context(
            CategoricalTileWriter(
                self.code_path, grid, "uint8", OUTSIDE_CODE, cog=cog, kind="categorical",
                tags={"units": "rule code", "legend": self.code_path.with_suffix(".csv").name},
                categories=rule_categories(self.spec.rules),
            )
        )  # fmt: skip
        self.wsuit = stack.enter_context(
            RasterTileWriter(
                self.suit_path, grid, "float32", float("nan"), cog=cog, kind="continuous",
                tags={"units": "score 0-1"}, compress=float_compress,
            )
        )  # fmt: skip

    def suitability_tiles(self):
        """The suitability raster written by the pass, readable before it is converted.

        The tile file (uncompressed, cheaper to read than the COG); the same values.
        """
        return self.wsuit.finish_tiles()

    def release_suitability(self) -> None:
        """Let the suitability raster be converted (the run reads it no more)."""
        self._writers.release(self.wsuit)

    def write(self, tile, out):
        """Write one tile's codes and scores and add its counts and pieces."""
        code, score, extra, record = out
        self.wcode.write(code, tile.window)
        self.wsuit.write(score, tile.window)
        for name, arr in record.items():
            self.wrecord[name].write(arr, tile.window)
        pt = None
        if extra is not None:
            counts, pt = extra
            for k, v in counts.items():
                self.totals[k] = self.totals[k] + v
        if pt is None:
            pt = empty_piece_tile(int(tile.window.height), int(tile.window.width))
        self.acc.add(tile.window, pt)


def shared_pass(passes, inputs, raster_paths, tiling, cog, writers):
    """One windowed pass for every technology: each tile is read once and serves them all.

    Exclusion rules shared by technologies (same code = same rule) are evaluated once per tile.
    The rasters are written tile by tile into ``writers``; when the tiles are done, their
    conversions to COG begin on its pool and this returns without waiting for them. Each
    technology's suitability is held back for its parcel outlines
    (:meth:`TechPass.suitability_tiles`, :meth:`TechPass.release_suitability`); the caller's
    exit from ``writers`` waits for every file.

    Parameters
    ----------
    passes : list of TechPass
        One per technology.
    inputs : SitingInputs
        Grid, layers and counties.
    raster_paths : callable
        ``raster_paths(tech) -> {"excluded_by_rule": Path, "suitability": Path,
        "rules_applying": Path, "criterion": callable}`` (see :meth:`TechPass.open_writers`).
    tiling : TileOptions
        Memory limit, scheduler and forced tile size.
    cog : bool
        Write Cloud-Optimized GeoTIFFs.
    writers : WriterStack
        The block the writers are entered into (and closed by, at the caller's exit).

    Returns
    -------
    list of sxplan.layers.windows.Tile
        The tiles (the parcel outline pass re-uses them).
    """
    grid, layers, counties = inputs.grid, inputs.layers, inputs.counties
    scheduler, tile_size = tiling.scheduler, tiling.tile_size
    county_geoms = np.asarray(counties.geometry.values)
    county_tree = shapely.STRtree(county_geoms)
    halo = max(tp.spec.halo for tp in passes)
    bytes_per_cell = 48 + sum(tp.spec.bytes_per_cell for tp in passes) + 8 * len(layers.rasters)
    tiles = plan_tiles(
        grid,
        budget=tiling.budget,
        bytes_per_cell=bytes_per_cell,
        halo=halo,
        n_workers=Budget.workers(scheduler),
        tile_size=tile_size,
    )
    specs = [tp.spec for tp in passes]
    _share_identical_criteria(passes)

    def compute(tile):
        ctx = TileContext(layers, tile)
        county = study_area_tile(county_geoms, county_tree, grid, tile.window)
        study = county > 0
        return [sp.compute(tile, ctx, county, study) for sp in specs]

    def write(tile, outs):
        for tp, out in zip(passes, outs, strict=True):
            tp.write(tile, out)

    float_compress = None
    if cog and passes:
        # every float tile file is kept until the pass ends (uncompressed: 4 bytes a cell
        # each); on a disk short of twice that they are compressed (float_tile_compress)
        nbytes = 4 * grid.width * grid.height * sum(tp.float_rasters() for tp in passes)
        folder = raster_paths(passes[0].tech)["suitability"].parent
        float_compress = float_tile_compress(folder, nbytes)
    for tp in passes:
        tp.open_writers(writers, raster_paths(tp.tech), grid, cog, float_compress)
    label = "siting " + "+".join(tp.tech for tp in passes)
    run_tiles(tiles, compute, write, scheduler=scheduler, progress=label)
    writers.after(lambda: _copy_shared_criteria(passes))
    writers.start(hold=[tp.wsuit for tp in passes])
    return tiles


def raster_paths(out_dir, tech: str) -> dict:
    """The shared pass's files of ``tech`` in ``out_dir`` (see :meth:`TechPass.open_writers`)."""
    from sxplan.schema import dataset

    crit = dataset("siting.criterion")
    return {
        "excluded_by_rule": out_dir / dataset("siting.excluded_by_rule").filename(tech=tech),
        "suitability": out_dir / dataset("siting.suitability").filename(tech=tech),
        "rules_applying": out_dir / dataset("siting.rules_applying").filename(tech=tech),
        "criterion": lambda name: out_dir / crit.filename(tech=tech, criterion=name),
    }


def _share_identical_criteria(passes) -> None:
    """Mark criteria defined identically in an earlier technology.

    Same layer or distance, same transform: their rasters would be equal cell for cell, so
    they are computed and written once and copied (a float32 COG costs several CPU-seconds
    per giga-cell).
    """
    seen = {}
    for tp in passes:
        tp.spec.shared_records = {}
        for c in tp.spec.crit.items:
            if c.name not in tp.spec.recorded:
                continue
            key = c.crit.model_dump_json()
            if key in seen:
                tp.spec.shared_records[c.name] = seen[key]
            else:
                seen[key] = (tp.tech, c.name)


def _copy_shared_criteria(passes) -> None:
    import shutil

    from sxplan.layers.atomic import atomic_path

    by_key = {(tp.tech, n): tp.record_paths[n] for tp in passes for n in tp.record_paths}
    for tp in passes:
        for name, origin in tp.spec.shared_records.items():
            with atomic_path(tp.record_paths[name]) as tmp:
                shutil.copyfile(by_key[origin], tmp)


class WriterStack:
    """Like :class:`contextlib.ExitStack` for raster writers, closing them two at a time.

    Closing a writer converts its file to COG (overviews, then DEFLATE): GDAL work that
    releases the GIL, partly single-threaded. On success the writers are closed on a pool of
    two threads, or one where the run's memory has no room for two copies
    (:meth:`~sxplan.layers.budget.Budget.copies_at_once`); each file is converted by one
    thread, so the bytes do not change. On error they are closed one by one with the error,
    in reverse order, as ``ExitStack`` would.

    :meth:`start` begins the conversions without waiting for them, so that the run goes on
    beside them (the parcel outlines read the suitability tile files meanwhile): the writers
    it is told to ``hold`` are converted once given to :meth:`release`, and the block's exit
    waits for every conversion, then runs the functions given to :meth:`after`. An error inside
    the block cancels the conversions not yet begun, waits for the running ones and closes
    every writer not converted with the error (their files removed).
    """

    def __init__(self):
        self._cms = []
        self._after = []
        self._scope = None  # from start(): the conversion pool and GDAL's cache for copies
        self._pool = None
        self._held = []
        self._futures = []

    def enter_context(self, cm):
        """Enter ``cm`` and keep it for closing."""
        out = cm.__enter__()
        self._cms.append(cm)
        return out

    def after(self, fn) -> None:
        """Call ``fn()`` once every writer is closed without error."""
        self._after.append(fn)

    def start(self, hold=()) -> None:
        """Convert every writer but those in ``hold`` on the pool, and return at once."""
        from concurrent.futures import ThreadPoolExecutor

        from sxplan.layers.heap import release_free_memory

        # what the tiles freed is given back first: the copies (and what runs beside them)
        # start from the live data, not from the pass's high-water mark
        release_free_memory()
        cms = self._cms[::-1]
        self._scope = scope = contextlib.ExitStack()
        scope.enter_context(Budget.conversion_env())
        self._pool = scope.enter_context(ThreadPoolExecutor(max_workers=Budget.copies_at_once()))
        held = {id(cm) for cm in hold}
        self._held = [cm for cm in cms if id(cm) in held]
        for cm in cms:
            if id(cm) not in held:
                self._submit(cm)

    def release(self, cm) -> None:
        """Convert a writer held by :meth:`start` (no longer read by the run)."""
        self._held.remove(cm)
        self._submit(cm)

    def _submit(self, cm) -> None:
        self._futures.append((cm, self._pool.submit(_convert, cm)))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._scope is None:
            if exc_type is not None:
                return self._close_with_error(self._cms, exc_type, exc, tb)
            self.start()
        cms, self._cms = self._cms, []
        if exc_type is None:
            for cm in list(self._held):
                self.release(cm)
        else:
            for _, fut in self._futures:
                fut.cancel()
        self._scope.close()  # waits for the copies begun (GDAL work cannot be stopped)
        begun = [(cm, f) for cm, f in self._futures if not f.cancelled()]
        if exc_type is not None:  # held, cancelled or never submitted: closed with the error
            closed = {id(cm) for cm, _ in begun}
            left = [cm for cm in cms if id(cm) not in closed]
            return self._close_with_error(left, exc_type, exc, tb)
        errors = [e for e in (f.exception() for _, f in begun) if e is not None]
        if errors:
            raise errors[0]
        for fn in self._after:
            fn()
        return False

    @staticmethod
    def _close_with_error(cms, exc_type, exc, tb):
        stack = contextlib.ExitStack()
        for cm in cms:
            stack.push(cm)
        return stack.__exit__(exc_type, exc, tb)


def _convert(cm) -> None:
    """Close (convert) one writer, then give back what the copy freed.

    The copy's buffers are freed on a pool thread, whose heap keeps them; the run goes on
    beside the copies, so they are returned after each one rather than once at the end (the
    250 m benchmark run peaked at 389-394 MB with one trim at the end, 360 MB with these, s28).
    """
    from sxplan.layers.heap import release_free_memory

    try:
        cm.__exit__(None, None, None)
    finally:
        release_free_memory()
