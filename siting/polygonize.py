"""Parcel outlines: polygons drawn tile by tile from the written suitability raster.

Each tile's candidate cells are labelled again exactly as in the shared pass (labelling is
deterministic), mapped to their parcel ids, traced with :func:`rasterio.features.shapes`, and
the parts of a parcel that several tiles hold are merged as soon as the last of those tiles
is written, so only parcels the current row of tiles crosses are held in pieces.

Inputs: a :class:`~sxplan.siting.parcels.ParcelSet`, the tiles of the shared pass, the
technology's ``suitability_<tech>.tif``, its threshold, block size and connectivity.
Outputs: one normalised (multi)polygon per parcel, in the grid CRS, handed to a ``consume``
callback as parcels are finished.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from sxplan.layers.windows import run_tiles

from .parcels import ParcelSet, piece_parcel_ids

__all__ = ["parcel_outlines", "pinched_values"]


def parcel_outlines(
    parcels: ParcelSet, tiles, suit_path, grid, spec, scheduler, consume, progress=None
):
    """Parcel polygons (grid CRS) by re-labelling each tile from the written suitability.

    A parcel is finished (its tile pieces merged, made valid and normalised) as soon as the
    last tile holding it is written, and handed to ``consume``; so only the parcels the
    current tile row crosses are held in pieces, never all outlines at once.

    Parameters
    ----------
    parcels : ParcelSet
        Resolved parcels of one technology.
    tiles : list of sxplan.layers.windows.Tile
        The tiles of the shared pass, in the same order.
    suit_path : str or pathlib.Path
        The technology's suitability raster.
    grid : GridSpec
        The run's grid.
    spec : sxplan.siting._tile_pass.TechCompute
        Gives ``thr`` (score threshold), ``block`` (block side in cells) and ``connectivity``.
    scheduler : str or None
        Tile scheduler.
    consume : callable
        ``consume(ids, outlines)`` with 1-based parcel ids (int64 array) and their finished
        outlines (object array), called in tile order; every parcel exactly once
        (:meth:`sxplan.siting._outline_store.OutlineStore.consume`).
    progress : str, optional
        Progress label.
    """
    thr, block, connectivity = spec.thr, spec.block, spec.connectivity
    from rasterio import features as rio_features

    from sxplan.layers.io import AlignedLayer

    suit = AlignedLayer(
        Path(suit_path).stem, Path(suit_path), grid, "continuous", "", float("nan"), "float32"
    )
    parts: dict[int, list] = {}
    if parcels.n == 0:
        return
    # Per tile: its kept piece labels and their parcel ids (small; travels with the task when
    # the scheduler is a Dask cluster, so no task needs the whole ParcelSet); and the tile
    # after whose writing each parcel is complete (tiles are written in this order).
    per_tile = {}
    index_of = {}
    last_tile = np.full(parcels.n + 1, -1, dtype="int64")
    for i, t in enumerate(tiles):
        key = (int(t.window.row_off), int(t.window.col_off))
        index_of[key] = i
        if parcels.tile_kept[i].size:
            per_tile[key] = parcels.tile_parcels(i)
            last_tile[per_tile[key][1]] = i
    if (last_tile[1:] < 0).any():
        missing = np.flatnonzero(last_tile[1:] < 0)[:5] + 1
        raise RuntimeError(f"parcels {missing.tolist()} are in no tile; please report")
    finishing = np.argsort(last_tile[1:], kind="stable") + 1  # parcel ids by finishing tile
    bounds = np.searchsorted(last_tile[finishing], np.arange(len(tiles) + 1))
    # parcels held by one tile only are finished by the task that traces them (on a worker
    # thread, beside the others: GEOS releases the GIL); the rest when their last tile is in
    n_tiles = np.zeros(parcels.n + 1, dtype="int64")
    for _, pids in per_tile.values():
        n_tiles[np.unique(pids)] += 1
    in_one_tile = n_tiles == 1
    finished: dict[int, object] = {}

    def compute(tile):
        key = (int(tile.window.row_off), int(tile.window.col_off))
        if key not in per_tile:
            return None
        score = suit.read(tile.window, masked=False)
        candidate = np.isfinite(score) & (score >= thr)
        kept, parcel_of_kept = per_tile[key]
        pid = piece_parcel_ids(candidate, key[0], key[1], block, connectivity, kept, parcel_of_kept)
        if not pid.any():
            return None
        shapes = rio_features.shapes(
            pid, mask=pid > 0, connectivity=connectivity,
            transform=grid.window_transform(tile.window),
        )  # fmt: skip
        values, polys = _shapes_to_polygons(shapes)
        own = in_one_tile[values]
        whole: dict[int, list] = {}
        for v, g in zip(values[own].tolist(), polys[own], strict=True):
            whole.setdefault(v, []).append(g)
        pinched = set(pinched_values(pid).tolist())
        done = {v: _finish(v, ps, check=v in pinched) for v, ps in whole.items()}
        return values[~own], polys[~own], done

    def write(tile, result):
        if result is not None:
            values, polys, done = result
            for v, g in zip(values.tolist(), polys, strict=True):
                parts.setdefault(v, []).append(g)
            finished.update(done)
        i = index_of[(int(tile.window.row_off), int(tile.window.col_off))]
        ids = finishing[bounds[i] : bounds[i + 1]]
        if ids.size:
            outlines = np.empty(ids.size, dtype=object)
            outlines[:] = [
                finished.pop(p) if p in finished else _finish(p, parts.pop(p, []))
                for p in ids.tolist()
            ]
            consume(ids, outlines)

    run_tiles(tiles, compute, write, scheduler=scheduler, progress=progress)
    if parts or finished:
        left = sorted({*parts, *finished})[:5]
        raise RuntimeError(f"parcels {left} were never finished; please report")


def pinched_values(pid: np.ndarray) -> np.ndarray:
    """Values of ``pid`` (> 0) that meet themselves at a cell corner only, sorted.

    That is a 2 x 2 block of cells holding the value on one diagonal and other values on
    the other. GDAL traces the outline of such a value through that corner twice, which
    OGC calls invalid. The outline GDAL traces for any other value is valid: its rings
    follow cell edges, so they can neither cross nor touch anywhere but at such a corner
    (a hole touching the shell, or two holes, meet there too). So only these values need
    :func:`shapely.is_valid` (``tests/siting/test_polygonize.py`` checks the claim on
    random rasters against ``is_valid`` itself).
    """
    pid = np.asarray(pid)
    a, b, c, d = pid[:-1, :-1], pid[:-1, 1:], pid[1:, :-1], pid[1:, 1:]
    main = (a > 0) & (a == d) & (b != a) & (c != a)  # the value on the main diagonal
    anti = (b > 0) & (b == c) & (a != b) & (d != b)  # the value on the other diagonal
    return np.unique(np.concatenate([a[main], b[anti]]))


def _finish(pid: int, ps: list, check: bool = True):
    """One parcel's outline from its tile pieces: merged, valid (OGC), normalised.

    ``check=False`` (one piece, traced by GDAL, of a value not in :func:`pinched_values`)
    skips the validity test, which such an outline always passes.
    """
    if not ps:
        raise RuntimeError(f"parcel {pid} has no cells on re-reading; please report")
    if len(ps) == 1:
        geom = ps[0]
    else:
        # Drop vertices left on straight edges where tiles met (GDAL's own outlines have
        # none), so the geometry does not depend on the tiling.
        geom = shapely.simplify(shapely.union_all(ps), 0.0)
        check = True
    if check and not shapely.is_valid(geom):
        # GDAL traces cells that touch only at a corner (8-connected parcels) as one ring
        # through that corner twice, which OGC calls a self-intersection (QGIS and ArcGIS
        # flag it); the valid form is two polygons meeting at the point, which is also
        # what the union of tile pieces gives, so the result does not depend on the tiling.
        # Cell outlines touch but never cross, so buffer(0) (10x faster than make_valid on
        # the 30 m benchmark's 1,373 such parcels) keeps every cell; the area is checked.
        fixed = shapely.buffer(geom, 0)
        if not shapely.is_valid(fixed) or abs(fixed.area - geom.area) > 1e-9 * geom.area:
            fixed = shapely.make_valid(geom)
        geom = fixed
    return shapely.normalize(geom)


def _shapes_to_polygons(shapes) -> tuple[np.ndarray, np.ndarray]:
    """Values and polygons from :func:`rasterio.features.shapes`, built in bulk (fast)."""
    values, rings, poly_of_ring = [], [], []
    for p, (geom, value) in enumerate(shapes):
        values.append(value)
        for ring in geom["coordinates"]:
            rings.append(np.asarray(ring, dtype="float64"))
            poly_of_ring.append(p)
    if not values:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype=object)
    lengths = np.fromiter((len(r) for r in rings), dtype="int64", count=len(rings))
    ring_geoms = shapely.linearrings(
        np.concatenate(rings), indices=np.repeat(np.arange(len(rings)), lengths)
    )
    polys = shapely.polygons(ring_geoms, indices=np.asarray(poly_of_ring))
    return np.asarray(values, dtype="int64"), polys
