"""Exclusion rules evaluated tile by tile, with per-rule accounting.

Every cell of the study area (cells whose centre lies in a county) gets a code: 0 if eligible,
the rule's code (its position in the config's ``exclusions`` list, from 1) if a hard rule
excluded it (the first matching rule in list order), :data:`NO_DATA_CODE` if it passed every
rule but lacks an input the technology needs, and :data:`OUTSIDE_CODE` outside the study area
(the raster's nodata). Soft rules never exclude; they multiply the score of the cells they
select by their ``score_factor``. Preference rules never exclude either: they multiply the score
of their cells by ``score_multiplier`` (scores cap at 1) and lift the hard rules they name in
``waives`` there (e.g. PV on mining land, allowed on cropland there); the land a waiver returns
and the area scored up are counted per preference rule.

Accounting per rule: cells it selects on its own ("alone", ignoring every other rule) and cells
it excluded in sequence (attributed to the first matching rule). In-sequence counts of hard
rules and no-data add up exactly to the excluded area.

Buffers are exact Euclidean distances: categorical buffers measure from cell centre to matching
cell centre on a halo'd window (exact for the core; :func:`sxplan.layers.distance.within_distance`,
``<=`` the buffer), vector buffers buffer the geometry itself
and select cells whose centre lies inside, so no tile sees anything different from the whole.

Inputs: rules from :mod:`sxplan.siting.config`, a :class:`~sxplan.siting._context.LayerSet`.
Outputs: :class:`CompiledRules` whose :meth:`~CompiledRules.evaluate` returns per-tile codes,
soft factors and counts; :func:`exclusion_codes` writes the code raster for a whole grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sxplan.errors import ConfigError
from sxplan.layers.distance import within_distance
from sxplan.layers.landcover import COMMON_CLASSES, scheme_of, to_common
from sxplan.layers.vector import burn_tile

from ._context import LayerSet, TileContext
from .config import CategoricalSelector, RangeSelector, VectorSelector
from .technology import get_technology

__all__ = [
    "NO_DATA_CODE",
    "OUTSIDE_CODE",
    "CompiledRules",
    "ExclusionTile",
    "compile_rules",
    "compile_selector",
    "study_area_tile",
]

#: Code of cells that pass every rule but lack an input the technology needs.
NO_DATA_CODE = 254
#: Code (and raster nodata) of cells outside the study area.
OUTSIDE_CODE = 255


def _halo(distance_m: float, res_m: float) -> int:
    return int(math.ceil(distance_m / res_m - 1e-9)) if distance_m > 0 else 0


class _Selector:
    """Selects cells of a tile's core window; ``halo`` cells of context needed."""

    halo = 0
    rasters: tuple[str, ...] = ()

    def select(self, ctx: TileContext) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class _CategoricalSel(_Selector):
    def __init__(self, sel: CategoricalSelector, layers: LayerSet, what: str):
        self.layer = layers.raster(sel.layer, what)
        if self.layer.kind != "categorical":
            raise ConfigError(
                f"{what}: layer '{sel.layer}' is {self.layer.kind}, a categorical rule needs "
                "a categorical layer (use `type: range` for continuous layers)"
            )
        self.name = sel.layer
        self.rasters = (sel.layer,)
        self.codes = np.array(sorted(set(sel.codes)), dtype="int64")
        bad = [c for c in sel.classes if c not in COMMON_CLASSES]
        if bad:
            raise ConfigError(
                f"{what}: unknown land-cover classes {bad}; common classes are "
                f"{list(COMMON_CLASSES)}"
            )
        self.classes = np.array([COMMON_CLASSES[c] for c in sel.classes], dtype="uint8")
        # `classes:` are read through the class scheme declared on the layer itself
        # (layers.<name>.scheme); raw `codes:` need none.
        self.scheme = None
        if sel.classes:
            self.scheme = scheme_of(self.layer, needed_by=f"{what} (`classes:`)")
        self.buffer_m = float(sel.buffer_m)
        self.halo = _halo(self.buffer_m, layers.grid.res)
        self.res = layers.grid.res
        self.what = what

    def _match(self, ctx, *, outer: bool):
        values, valid = ctx.read(self.name, outer=outer, what=self.what)
        m = None
        if self.codes.size:
            m = _equal_any(values, self.codes)
            m &= valid
        if self.classes.size:
            # the common classes of the tile, mapped once and shared by every rule and by
            # the parcel statistics (same key as siting._tile_pass uses for the core window)
            key = ("common_landcover_outer" if outer else "common_landcover", self.name)
            common = ctx.cached(
                key, lambda: to_common(values, self.scheme, self.layer.nodata, what=self.name)
            )
            c = _equal_any(common, self.classes)
            c &= valid
            m = c if m is None else np.logical_or(m, c, out=m)
        return np.zeros(values.shape, dtype=bool) if m is None else m

    def select(self, ctx):
        if self.halo == 0:
            return self._match(ctx, outer=False)

        def features(window):  # the tile's outer window, read once per tile
            return self._match(ctx, outer=True)

        # exact circle (<=), distance transforms only on blocks with a matching cell in reach
        return within_distance(features, ctx.grid, ctx.tile, self.buffer_m)


def _equal_any(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``np.isin(values, codes)`` by comparisons (a few codes) or a lookup table (uint8)."""
    if codes.size <= 4 or values.dtype != np.uint8:
        if codes.size > 4:
            return np.isin(values, codes)
        m = values == int(codes[0])  # Python ints compare in the values' own dtype
        for c in codes[1:]:
            m |= values == int(c)
        return m
    table = np.zeros(256, dtype=bool)
    table[codes[(codes >= 0) & (codes < 256)]] = True
    return np.take(table, values)


class _RangeSel(_Selector):
    def __init__(self, sel: RangeSelector, layers: LayerSet, what: str):
        layer = layers.raster(sel.layer, what)
        if layer.kind != "continuous":
            raise ConfigError(
                f"{what}: layer '{sel.layer}' is categorical; a range rule needs a continuous "
                "layer (use `type: categorical` with `codes:`)"
            )
        self.name = sel.layer
        self.rasters = (sel.layer,)
        self.below, self.above = sel.below, sel.above
        self.what = what

    def select(self, ctx):
        values, valid = ctx.read(self.name, what=self.what)
        m = None
        if self.below is not None:
            m = values < self.below
        if self.above is not None:
            above = values > self.above
            m = above if m is None else np.logical_or(m, above, out=m)
        if m is None:
            return np.zeros(values.shape, dtype=bool)
        m &= valid
        return m


class _VectorSel(_Selector):
    def __init__(self, sel: VectorSelector, layers: LayerSet, what: str):
        from sxplan.layers.distance import features_from_vector

        gdf = layers.vector(sel.layer, what)
        # buffered from the true geometry (exact circle), rasterized by cell centre
        self.features = features_from_vector(
            gdf, layers.grid, all_touched=sel.all_touched, buffer_m=sel.buffer_m
        )

    def select(self, ctx):
        return self.features(ctx.tile.window)


def compile_selector(sel, layers: LayerSet, *, what: str = "rule") -> _Selector:
    """Turn a selector model into an object that selects cells of a tile.

    Parameters
    ----------
    sel : CategoricalSelector, RangeSelector or VectorSelector
        The model (rules are selectors too).
    layers : LayerSet
        Layers of the run.
    what : str
        Name used in error messages.

    Returns
    -------
    object
        With ``select(ctx) -> bool array``, ``halo`` (cells) and ``rasters`` (names read).
    """
    if isinstance(sel, CategoricalSelector):
        return _CategoricalSel(sel, layers, what)
    if isinstance(sel, RangeSelector):
        return _RangeSel(sel, layers, what)
    if isinstance(sel, VectorSelector):
        return _VectorSel(sel, layers, what)
    raise TypeError(f"unknown selector {sel!r}")


@dataclass
class _CompiledRule:
    code: int
    rule: object
    selector: _Selector
    within: _Selector | None

    @property
    def halo(self) -> int:
        return max(self.selector.halo, self.within.halo if self.within else 0)

    def select(self, ctx) -> np.ndarray:
        m = self.selector.select(ctx)
        if self.within is not None and m.any():
            m &= self.within.select(ctx)
        return m


@dataclass
class ExclusionTile:
    """Exclusion results of one tile.

    Attributes
    ----------
    code : numpy.ndarray
        uint8 codes (0 eligible, rule code, :data:`NO_DATA_CODE`, :data:`OUTSIDE_CODE`).
    score_factor : numpy.ndarray
        float32 product of soft-rule factors (1 where no soft rule applies).
    alone_cells : numpy.ndarray
        int64 cells each rule selects on its own within the study area (rule order).
    soft_masks : list of numpy.ndarray
        Cells whose score each soft rule lowers or each preference rule raises (rule order;
        None for hard rules and for preferences without a multiplier).
    returned_masks : list of numpy.ndarray
        Per preference rule, cells a waived hard rule would have excluded and that no other
        hard rule excludes (rule order, None for other rules).
    rule_bits : numpy.ndarray or None
        Every rule selecting each cell, hard or soft: bit ``i`` (value ``2**i``) set for the
        technology's ``i``-th rule (the ``order`` column of ``exclusions.csv`` minus 1).
    """

    code: np.ndarray
    score_factor: np.ndarray
    alone_cells: np.ndarray
    soft_masks: list = field(default_factory=list)
    rule_bits: np.ndarray | None = None
    returned_masks: list = field(default_factory=list)


class CompiledRules:
    """The exclusion rules of one technology, ready to evaluate tile by tile.

    Parameters
    ----------
    rules : list
        ``[(code, rule_model), ...]`` in order.
    layers : LayerSet
        Layers of the run.
    """

    def __init__(self, rules, layers: LayerSet):
        self.rules: list[_CompiledRule] = []
        for code, rule in rules:
            what = f"exclusion rule '{rule.name}'"
            sel = compile_selector(rule, layers, what=what)
            within = None
            if rule.within is not None:
                within = compile_selector(rule.within, layers, what=f"{what} (within)")
            self.rules.append(_CompiledRule(code, rule, sel, within))

    @property
    def halo(self) -> int:
        """Cells of halo the rules need."""
        return max((r.halo for r in self.rules), default=0)

    @property
    def hard_rasters(self) -> list[str]:
        """Raster layers read by hard rules (cells lacking them are no-data exclusions)."""
        names = []
        for r in self.rules:
            if r.rule.mode == "hard":
                names += [n for n in r.selector.rasters if n not in names]
        return names

    def evaluate(self, ctx: TileContext, study: np.ndarray) -> ExclusionTile:
        """Evaluate every rule on a tile.

        Parameters
        ----------
        ctx : TileContext
            The tile's reads.
        study : numpy.ndarray of bool
            True on study-area cells of the core window.

        Returns
        -------
        ExclusionTile
            Codes here are 0, rule codes or :data:`OUTSIDE_CODE`; the caller adds
            :data:`NO_DATA_CODE` once it knows which inputs are missing.
        """
        code = np.where(study, 0, OUTSIDE_CODE).astype("uint8")
        factor = np.ones(ctx.shape, dtype="float32")
        alone = np.zeros(len(self.rules), dtype="int64")
        bits = np.zeros(ctx.shape, dtype=self.bits_dtype)
        n = len(self.rules)
        if not study.any():
            return ExclusionTile(code, factor, alone, [None] * n, bits, [None] * n)
        masks = []
        for i, r in enumerate(self.rules):
            # a rule code names the same rule for every technology: select once per tile
            m = ctx.cached(("rule", r.code), lambda r=r: r.select(ctx)) & study
            alone[i] = int(np.count_nonzero(m))
            np.bitwise_or(bits, bits.dtype.type(1 << i), out=bits, where=m)
            masks.append(m)
        waived = self._waived(masks)
        unwaived = code.copy() if waived else None  # codes as if no rule were waived
        soft, returned = [], []
        for r, m in zip(self.rules, masks, strict=True):
            if r.rule.mode == "hard":
                if waived:
                    unwaived[(unwaived == 0) & m] = r.code
                    if r.rule.name in waived:
                        m = m & ~waived[r.rule.name]
                np.copyto(code, np.uint8(r.code), where=(code == 0) & m)
                soft.append(None)
            elif r.rule.mode == "soft":
                factor[m] *= np.float32(r.rule.score_factor)
                soft.append(m)
            else:
                if r.rule.score_multiplier is not None:
                    factor[m] *= np.float32(r.rule.score_multiplier)
                soft.append(m if r.rule.score_multiplier is not None else None)
            returned.append(None)
        for i, (r, m) in enumerate(zip(self.rules, masks, strict=True)):
            if r.rule.mode == "preference" and r.rule.waives:
                returned[i] = m & (code == 0) & (unwaived != 0)
        return ExclusionTile(code, factor, alone, soft, bits, returned)

    def _waived(self, masks) -> dict:
        """Hard-rule name -> cells where a preference rule lifts it."""
        out: dict = {}
        for r, m in zip(self.rules, masks, strict=True):
            if r.rule.mode == "preference":
                for name in r.rule.waives:
                    out[name] = out[name] | m if name in out else m
        return out

    @property
    def bits_dtype(self) -> str:
        """Integer type holding one bit per rule (``rules_applying_<tech>.tif``)."""
        if len(self.rules) > 64:
            raise ConfigError(
                f"{len(self.rules)} exclusion rules apply to one technology; the per-cell "
                "record of every rule that applies holds at most 64; merge rules that read "
                "the same layer (one categorical rule can list several classes)"
            )
        # the smallest type: the record is written for every cell (a uint32 raster of a 30 m
        # province is 1 GB staged and about 5 CPU-s to convert to COG, a uint8 one a quarter)
        n = len(self.rules)
        return next(f"uint{b}" for b in (8, 16, 32, 64) if n <= b)


def compile_rules(cfg, tech: str, layers: LayerSet) -> CompiledRules:
    """Compile the hard and soft rules of ``tech`` from a :class:`~.config.SitingConfig`.

    Rule codes are positions in ``cfg.exclusions`` counted from 1, so a code means the same rule
    for every technology. A technology with an ``implicit_rules(cfg, layers)`` method (e.g.
    agrivoltaic PV's land and no-overlap rules) puts those first, with codes above 250.

    Parameters
    ----------
    cfg : SitingConfig
        The siting settings.
    tech : {"pv", "wind"}
        Technology.
    layers : LayerSet
        Layers of the run.

    Returns
    -------
    CompiledRules
    """
    pairs = [(i + 1, r) for i, r in enumerate(cfg.exclusions) if tech in r.technologies]
    compiled = CompiledRules(pairs, layers)
    implicit = getattr(get_technology(tech), "implicit_rules", None)
    if implicit is not None:  # rules a technology brings itself come first
        compiled.rules[:0] = implicit(cfg, layers)
    return compiled


def study_area_tile(county_geoms, county_tree, grid, window) -> np.ndarray:
    """County index (1-based, uint16; 0 outside) of each cell of a window, by cell centre.

    Parameters
    ----------
    county_geoms : numpy.ndarray of shapely.Geometry
        County polygons in the grid CRS, in county-table order.
    county_tree : shapely.STRtree
        Index over ``county_geoms``.
    grid : GridSpec
        The grid.
    window : rasterio.windows.Window
        The window.

    Returns
    -------
    numpy.ndarray
        uint16 county index + 1; where counties overlap, the later one wins.
    """
    values = np.arange(1, len(county_geoms) + 1, dtype="uint16")
    return burn_tile(
        county_geoms, values, grid, window, all_touched=False, dtype="uint16", tree=county_tree
    )
