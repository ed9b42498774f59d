"""Parcel outlines kept on disk while a siting run builds its tables and files.

An outline is finished by :func:`sxplan.siting.polygonize.parcel_outlines` as soon as the last
tile holding its parcel is written. :meth:`OutlineStore.consume` then takes from it what the
parcel table needs (distance to the nearest highway, a point inside it in WGS84), transforms it
to EPSG:4326 and appends its WKB to a scratch file, so a run never holds every outline at once
(a national run has 10^5 parcels and more, ~7 kB each). The GeoPackage and the shortlist read
the outlines back by parcel id, in blocks (:meth:`OutlineStore.outlines_of`).

WKB stores the float64 coordinates as they are, so an outline read back is the outline written;
a coordinate transform is point by point, so transforming outlines as they are finished gives
the coordinates a transform of all of them at once would.

Inputs: finished outlines in the grid CRS (from ``parcel_outlines``), the highway lines.
Outputs: per parcel, ``dist_highway_m``, ``lon`` and ``lat``; outlines in EPSG:4326 by id.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["OutlineStore", "distance_to_nearest", "line_pieces"]

WGS84 = "EPSG:4326"
#: Outlines measured, transformed and written at once by :meth:`OutlineStore.consume`, at
#: most: a batch is stored when it holds this many outlines or :data:`BATCH_COORDS` vertices.
BATCH = 5_000
#: Vertices of the outlines in one batch, at most (one past it stores the batch). Storing
#: holds the batch's outlines three times (grid CRS, EPSG:4326, WKB) and the transform's
#: coordinate arrays: a 30 m province's 3,801 PV parcels (2.6 M vertices), all pending at
#: once under the count alone, added 140-190 MB at the end of the outline pass (55-75 bytes
#: a vertex; ``benchmarks/README.md``), so a batch holds about 15-20 MB. Chosen, not tuned:
#: the transform's fixed cost per batch is small beside 250,000 vertices.
BATCH_COORDS = 250_000
#: Rows of one block of :meth:`OutlineStore.frames`, at most.
FRAME_ROWS = 20_000
#: WKB bytes of the outlines of one block of :meth:`OutlineStore.frames`, at most (a block
#: holds at least one row). A block's outlines are held several times while GDAL writes them
#: (WKB read back, shapely geometries, pyogrio's own WKB): China at 90 m, 20,000 wind parcels
#: of about 17 kB each (340 MB of WKB) took the run from 623 to 1,666 MB for the wind
#: GeoPackage alone. Chosen, not tuned: 16 MiB is 1,000 such parcels, and a block's fixed
#: cost is one append to the layer.
FRAME_BYTES = 16 * 1024 * 1024
#: Parcels measured at once by :func:`distance_to_nearest`.
DISTANCE_BLOCK_PARCELS = 20_000
#: Vertices of the pieces highway lines are cut into for the nearest-line search. Chosen,
#: not tuned: short enough that a distance measures few segments, long enough to keep the
#: tree small (China's 182,344 highway vertices: 13,633 pieces, cut and indexed in 0.04 s).
LINE_PIECE_VERTICES = 16


def line_pieces(geoms: np.ndarray) -> np.ndarray:
    """Lines cut into pieces of at most :data:`LINE_PIECE_VERTICES` vertices, for a search tree.

    Consecutive pieces share their end vertex, so the pieces hold exactly the segments of
    the lines, and the distance from any geometry to the nearest piece is the distance to
    the nearest line, to the bit (GEOS takes the minimum over the same segment pairs). A
    long line makes GEOS's distance to a polygon cost parcel vertices x line vertices; the
    tree of short pieces only measures the few near one (China at 250 m: the nearest-highway
    search was 37 % of the outline pass). Geometries other than lines are kept whole.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts = shapely.get_parts(geoms)
    is_line = shapely.get_type_id(parts) == 1  # LineString (LinearRings: 2, kept whole)
    lines, others = parts[is_line & ~shapely.is_empty(parts)], parts[~is_line]
    if not lines.size:
        return others
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    step = LINE_PIECE_VERTICES - 1
    starts = np.flatnonzero(np.r_[True, line_of[1:] != line_of[:-1]])
    ends = np.r_[starts[1:], line_of.size]  # one past each line's last vertex
    idx, piece = [], []
    n_pieces = 0
    for s0, e in zip(starts.tolist(), ends.tolist(), strict=True):
        for a in range(s0, max(s0 + 1, e - 1), step):  # pieces [a, min(a + step, e - 1)]
            b = min(a + step, e - 1)
            idx.append(np.arange(a, b + 1))
            piece.append(np.full(b - a + 1, n_pieces))
            n_pieces += 1
    take = np.concatenate(idx)
    pieces = shapely.linestrings(coords[take], indices=np.concatenate(piece))
    return np.concatenate([pieces, others]) if others.size else pieces


def distance_to_nearest(tree: shapely.STRtree, polys: np.ndarray) -> np.ndarray:
    """Exact distance (grid units) from each (multi)polygon to the nearest geometry of ``tree``.

    Parcels cut by exclusions carry thousands of holes, which make GEOS distance slow. A line
    outside a polygon's outer ring is as far from the polygon as from the filled ring, so
    distances are taken to the filled outer rings, and only parts whose filled ring a line
    reaches (distance 0) are measured again with their holes. In blocks of parcels: the parts
    and filled rings are copies of the geometries.
    """
    out = np.full(len(polys), np.inf)
    for i0 in range(0, len(polys), DISTANCE_BLOCK_PARCELS):
        out[i0 : i0 + DISTANCE_BLOCK_PARCELS] = _nearest(
            tree, polys[i0 : i0 + DISTANCE_BLOCK_PARCELS]
        )
    return out


def _nearest(tree, polys: np.ndarray) -> np.ndarray:
    """:func:`distance_to_nearest` for one block of parcels."""
    parts, owner = shapely.get_parts(polys, return_index=True)
    filled = shapely.polygons(shapely.get_exterior_ring(parts))
    _, d = tree.query_nearest(filled, return_distance=True, all_matches=False)
    d = np.asarray(d, dtype="float64")
    recheck = np.nonzero(d == 0)[0]
    if recheck.size:
        _, d2 = tree.query_nearest(parts[recheck], return_distance=True, all_matches=False)
        d[recheck] = d2
    out = np.full(len(polys), np.inf)
    np.minimum.at(out, owner, d)
    return out


class OutlineStore:
    """Finished outlines of ``n`` parcels (ids 1..n) in a scratch file, with their measures.

    Parameters
    ----------
    n : int
        Number of parcels.
    path : str or pathlib.Path
        Scratch file for the WKB (created; removed with its folder by the caller).
    crs : pyproj.CRS
        CRS of the outlines handed to :meth:`consume` (the grid's).
    highways : numpy.ndarray of shapely.Geometry, optional
        Lines to measure each parcel's distance to (grid CRS); None: no distance.

    Attributes
    ----------
    dist_highway_m : numpy.ndarray or None
        Per parcel (index 0 = parcel 1), metres to the nearest highway line.
    lon, lat : numpy.ndarray
        Per parcel, a point inside it (``point_on_surface``) in WGS84 degrees.
    """

    def __init__(self, n: int, path, crs, highways: np.ndarray | None = None):
        self.n = int(n)
        self.path = Path(path)
        self.crs = crs
        pieces = line_pieces(highways) if highways is not None else np.zeros(0, dtype=object)
        # highways without any geometry (all empty): no distance, left missing (NaN)
        self._tree = shapely.STRtree(pieces) if pieces.size else None
        self.dist_highway_m = np.full(self.n, np.nan) if highways is not None else None
        self.lon = np.full(self.n, np.nan)
        self.lat = np.full(self.n, np.nan)
        self._offset = np.full(self.n, -1, dtype="int64")
        self._length = np.zeros(self.n, dtype="int64")
        self._size = 0
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close() or abort())
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_set: set[int] = set()
        self._n_pending = 0
        self._coords_pending = 0
        self._index: pd.Series | None = None

    def consume(self, ids: np.ndarray, outlines: np.ndarray) -> None:
        """Take finished outlines (``ids`` 1-based, grid CRS); stored in batches.

        Outlines are measured, transformed and written in batches of :data:`BATCH`
        outlines or :data:`BATCH_COORDS` vertices, whichever is reached first (a tile
        finishes a few parcels; a transform per tile cost more than the outlines themselves
        on a national run), and at :meth:`close`.
        """
        idx = np.asarray(ids, dtype="int64") - 1
        if (self._offset[idx] >= 0).any() or self._pending_set.intersection(idx.tolist()):
            raise RuntimeError("a parcel outline was finished twice; please report")
        outlines = np.asarray(outlines, dtype=object)
        self._pending.append((idx, outlines))
        self._pending_set.update(idx.tolist())
        self._n_pending += idx.size
        self._coords_pending += int(shapely.get_num_coordinates(outlines).sum())
        if self._n_pending >= BATCH or self._coords_pending >= BATCH_COORDS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        idx = np.concatenate([p[0] for p in self._pending])
        outlines = np.concatenate([p[1] for p in self._pending])
        self._pending, self._pending_set, self._n_pending = [], set(), 0
        self._coords_pending = 0
        self._store(idx, outlines)

    def _store(self, idx: np.ndarray, outlines: np.ndarray) -> None:
        if self._tree is not None:
            self.dist_highway_m[idx] = distance_to_nearest(self._tree, outlines)
        pts = gpd.GeoSeries(shapely.point_on_surface(outlines), crs=self.crs).to_crs(WGS84)
        self.lon[idx] = pts.x.to_numpy()
        self.lat[idx] = pts.y.to_numpy()
        wgs = np.asarray(gpd.GeoSeries(outlines, crs=self.crs).to_crs(WGS84).values)
        for i, blob in zip(idx.tolist(), shapely.to_wkb(wgs).tolist(), strict=True):
            self._file.write(blob)
            self._offset[i] = self._size
            self._length[i] = len(blob)
            self._size += len(blob)

    def close(self) -> None:
        """Store what is pending and finish writing (every parcel must have its outline)."""
        self._flush()
        self._file.close()
        missing = np.flatnonzero(self._offset < 0)
        if missing.size:
            raise RuntimeError(f"parcels {(missing[:5] + 1).tolist()} have no outline")

    def abort(self) -> None:
        """Close the scratch file without storing or checking (the run failed)."""
        self._pending, self._pending_set, self._n_pending = [], set(), 0
        self._coords_pending = 0
        self._file.close()

    def name_rows(self, parcel_ids, parcel_index) -> None:
        """Key the outlines by the table's ``parcel_id`` (``parcel_index`` = 0-based parcel)."""
        self._index = pd.Series(np.asarray(parcel_index, dtype="int64"), index=list(parcel_ids))

    def outlines_of(self, parcel_ids) -> np.ndarray:
        """Outlines (EPSG:4326) of the parcels named by ``parcel_id``, in that order."""
        if self._index is None:
            raise RuntimeError("outlines are read by parcel_id after name_rows()")
        idx = self._index.loc[list(parcel_ids)].to_numpy()
        out = np.empty(idx.size, dtype=object)
        if not idx.size:
            return out
        blobs = np.empty(idx.size, dtype=object)
        with open(self.path, "rb") as f:  # one read per outline: never the whole file at once
            for k, i in enumerate(idx.tolist()):
                f.seek(int(self._offset[i]))
                blobs[k] = f.read(int(self._length[i]))
        out[:] = list(shapely.from_wkb(blobs))
        return out

    def frame(self, table: pd.DataFrame) -> gpd.GeoDataFrame:
        """``table`` (rows with ``parcel_id``) with its outlines, in EPSG:4326."""
        geoms = self.outlines_of(table["parcel_id"])
        return gpd.GeoDataFrame(table.copy(), geometry=geoms, crs=WGS84)

    def frames(self, table: pd.DataFrame):
        """:meth:`frame` of ``table`` in consecutive row blocks, for writing a layer in parts.

        A block holds at most :data:`FRAME_ROWS` rows and :data:`FRAME_BYTES` of outline WKB
        (at least one row); an empty table gives one empty block.
        """
        if self._index is None:
            raise RuntimeError("outlines are read by parcel_id after name_rows()")
        size = self._length[self._index.loc[list(table["parcel_id"])].to_numpy()]
        ends = np.cumsum(size)
        i0 = 0
        while True:
            start = ends[i0 - 1] if i0 else 0
            i1 = int(np.searchsorted(ends, start + FRAME_BYTES, side="right"))
            i1 = min(max(i1, i0 + 1), i0 + FRAME_ROWS, len(table))
            yield self.frame(table.iloc[i0:i1])
            if i1 >= len(table):
                return
            i0 = i1
