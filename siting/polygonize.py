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
    seams = _seam_lines(tiles, grid)
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
                finished.pop(p) if p in finished else _finish(p, parts.pop(p, []), seams=seams)
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


def _finish(pid: int, ps: list, check: bool = True, seams=None):
    """One parcel's outline from its tile pieces: merged, valid (OGC), normalised.

    ``check=False`` (one piece, traced by GDAL, of a value not in :func:`pinched_values`)
    skips the validity test, which such an outline always passes. ``seams`` are the tiles'
    edge lines (:func:`_seam_lines`), where pieces of one parcel meet.
    """
    if not ps:
        raise RuntimeError(f"parcel {pid} has no cells on re-reading; please report")
    if len(ps) > 1:
        geom = _merged(ps, seams)
    elif check:
        # rebuilt by GEOS's coverage union (its polygons are built from the edges, so a ring
        # through a corner twice comes out as two rings): 0.81 s against 2.1 s for the
        # validity test and buffer(0) on the 30 m benchmark's 1,879 such parcels (PV and
        # wind, s31), the same outlines; the validity test below is kept (passed at once)
        geom = _coverage_union([ps[0]])
        if geom is None:
            geom = ps[0]
    else:
        return shapely.normalize(ps[0])
    if not shapely.is_valid(geom):
        # Not expected after the unions above; kept as they were before them (s31):
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


def _seam_lines(tiles, grid) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of the tiles' edges, as GDAL computes the corners it traces on them.

    A corner's coordinate is the window's origin plus cells times the cell size, so an edge
    shared by two tiles is the left (top) edge of one and the right (bottom) edge of the
    other: both values are kept (they are equal but for rounding on grids off the metre).
    """
    xs, ys = [], []
    for t in tiles:
        tr = grid.window_transform(t.window)
        xs += [tr.c, tr.c + t.window.width * tr.a]
        ys += [tr.f, tr.f + t.window.height * tr.e]
    return np.unique(xs), np.unique(ys)


def _merged(ps: list, seams) -> object:
    """The union of one parcel's tile pieces, without the vertices where tiles met.

    The pieces are disjoint sets of cells that share only edges on tile seams, so their union
    is a *coverage union* (GEOS: shared edges dropped, no overlay), once every piece holds a
    vertex wherever another piece has one on the seam (:func:`_noded_on_seams`): 3.2 s
    against 8.1 s for :func:`shapely.union_all` and :func:`shapely.simplify` on the 30 m
    benchmark's 1,731 merged parcels (PV and wind, one thread, s31), with the same outlines.
    Where the pieces are not noded alike (corner coordinates that differ in their last bits),
    GEOS refuses and the general union is taken.
    """
    pieces = np.asarray(ps, dtype=object)
    geom = None
    if seams is not None and (shapely.get_type_id(pieces) == 3).all():  # polygons, as traced
        geom = _coverage_union(_noded_on_seams(pieces, *seams))
    if geom is None:
        geom = shapely.union_all(pieces)
    return _without_straight_vertices(geom)


def _coverage_union(polys):
    """GEOS's coverage union of ``polys``, or None where GEOS finds them not noded alike."""
    try:
        return shapely.coverage_union_all(polys)
    except shapely.errors.GEOSException:
        return None


def _noded_on_seams(ps: np.ndarray, seams_x, seams_y) -> np.ndarray:
    """Polygons ``ps`` with vertices added on their edges along seams.

    A vertex is added wherever another piece's vertex lies on such an edge, so an edge of one
    piece along a seam matches the other pieces' edges vertex for vertex, as a coverage union
    needs.
    """
    rings, poly_of = shapely.get_rings(ps, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    pos, vals = [], []
    for axis, seams in ((0, np.asarray(seams_x)), (1, np.asarray(seams_y))):
        added = _seam_vertices(coords, ring_of, seams, axis)
        if added is not None:
            pos.append(added[0])
            vals.append(added[1])
    if not pos:
        return ps
    at = np.concatenate(pos)
    coords = np.insert(coords, at, np.concatenate(vals), axis=0)  # order kept at one position
    ring_of = np.insert(ring_of, at, ring_of[at - 1])
    return shapely.polygons(shapely.linearrings(coords, indices=ring_of), indices=poly_of)


def _seam_vertices(coords, ring_of, seams, axis):
    """Vertices to add on the edges lying along seam lines ``coordinate[axis] in seams``.

    Returns ``(positions, xy)`` for :func:`numpy.insert` (in each edge's direction), or None.
    """
    other = 1 - axis
    a = coords[:, axis]
    on = np.isin(a, seams)
    if not on.any():
        return None
    edge = np.flatnonzero((ring_of[:-1] == ring_of[1:]) & on[:-1] & (a[:-1] == a[1:]))
    if edge.size == 0:
        return None
    # every vertex on a seam, keyed (seam index, position along it): complex numbers sort
    # by real part, then imaginary part
    keys = np.unique(np.searchsorted(seams, a[on]) + 1j * coords[on, other])
    line = np.searchsorted(seams, a[edge]).astype("float64")
    b0, b1 = coords[edge, other], coords[edge + 1, other]
    lo = np.searchsorted(keys, line + 1j * np.minimum(b0, b1), side="right")
    hi = np.searchsorted(keys, line + 1j * np.maximum(b0, b1), side="left")
    n = hi - lo
    some = n > 0
    if not some.any():
        return None
    edge, lo, hi, n, back = edge[some], lo[some], hi[some], n[some], (b0 > b1)[some]
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    take = np.where(np.repeat(back, n), np.repeat(hi - 1, n) - step, np.repeat(lo, n) + step)
    xy = np.empty((take.size, 2))
    xy[:, other] = keys[take].imag
    xy[:, axis] = np.repeat(a[edge], n)
    return np.repeat(edge + 1, n), xy


def _without_straight_vertices(geom):
    """A polygonal geometry of axis-parallel edges without its vertices on straight runs.

    The same as :func:`shapely.simplify` with tolerance 0 gives on such geometries, 3-4x faster.
    """
    if shapely.is_empty(geom):
        return geom
    parts = shapely.get_parts(geom)
    rings, poly_of = shapely.get_rings(parts, return_index=True)
    c, ring_of = shapely.get_coordinates(rings, return_index=True)
    i = np.arange(len(c))
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]
    last = np.r_[ring_of[1:] != ring_of[:-1], True]
    prev, nxt = i - 1, i + 1
    prev[first] = np.flatnonzero(last) - 1  # a closed ring: before its first, its last but one
    nxt[last] = np.flatnonzero(first) + 1
    x, y = c[:, 0], c[:, 1]
    straight = ((x[prev] == x) & (x == x[nxt]) & ((y[prev] < y) == (y < y[nxt]))) | (
        (y[prev] == y) & (y == y[nxt]) & ((x[prev] < x) == (x < x[nxt]))
    )
    straight[last] = True  # the closing copy goes too; linearrings closes each ring again
    if straight.sum() == last.sum():
        return geom
    keep = ~straight
    polys = shapely.polygons(shapely.linearrings(c[keep], indices=ring_of[keep]), indices=poly_of)
    if len(polys) == 1 and shapely.get_type_id(geom) == 3:
        return polys[0]
    return shapely.multipolygons(polys)


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
