"""OutlineStore: outlines finished in any order and batch come back as one transform gives them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from sxplan.siting import _outline_store as outline_store
from sxplan.siting._outline_store import OutlineStore

#: The default grid's Albers equal-area projection for China (metres).
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"


def _outlines(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-5e5, 5e5, n), rng.uniform(3.5e6, 4.5e6, n)
    out = shapely.buffer(shapely.points(x, y), 500, quad_segs=2)
    if n > 7:
        out[7] = shapely.union(out[7], shapely.box(0, 4e6, 300, 4.0003e6))  # multipart
    return out


@pytest.mark.parametrize(
    ("batch", "coords", "stored_before_close"),
    [(100, 10**9, True), (5_000, 10**9, False), (5_000, 1_000, True)],
)  # by outline count (20 batches), all at close(), by vertex count (~111 outlines a batch)
def test_outlines_read_back_by_parcel_id_equal_a_whole_transform(
    tmp_path, monkeypatch, batch, coords, stored_before_close
):
    monkeypatch.setattr(outline_store, "BATCH", batch)
    monkeypatch.setattr(outline_store, "BATCH_COORDS", coords)
    n = 2_000
    outlines = _outlines(n)
    lines = shapely.linestrings([[(-6e5, 4e6), (6e5, 4.1e6)], [(0, 3.4e6), (1e5, 4.6e6)]])
    store = OutlineStore(n, tmp_path / "o.wkb", ALBERS, lines)
    order = np.random.default_rng(1).permutation(n) + 1  # finished in any order, any batches
    for part in np.array_split(order, 37):
        store.consume(part, outlines[part - 1])
    assert (store.path.stat().st_size > 0) is stored_before_close
    store.close()
    whole = gpd.GeoSeries(outlines, crs=ALBERS).to_crs("EPSG:4326")
    pts = gpd.GeoSeries(shapely.point_on_surface(outlines), crs=ALBERS).to_crs("EPSG:4326")
    np.testing.assert_array_equal(store.lon, pts.x.to_numpy())
    np.testing.assert_array_equal(store.lat, pts.y.to_numpy())
    # GEOS's own distance to each line, not the store's filled-ring shortcut
    want = np.minimum(shapely.distance(outlines, lines[0]), shapely.distance(outlines, lines[1]))
    np.testing.assert_array_equal(store.dist_highway_m, want)
    assert (want < 1000).sum() > 0 and (want > 1e4).sum() > 0  # near and far parcels both
    # rows ranked in another order, named by parcel_id
    rank = np.random.default_rng(2).permutation(n)
    ids = [f"PV-{i:05d}" for i in range(1, n + 1)]
    store.name_rows(ids, rank)
    table = pd.DataFrame({"parcel_id": ids[::-1][:500]})
    got = store.frame(table)
    want = np.asarray(whole.values)[rank[::-1][:500]]
    assert got.crs == "EPSG:4326" and list(got["parcel_id"]) == ids[::-1][:500]
    assert shapely.to_wkb(np.asarray(got.geometry.values)).tolist() == (
        shapely.to_wkb(want).tolist()
    )


def test_every_parcel_must_have_its_outline(tmp_path):
    store = OutlineStore(3, tmp_path / "o.wkb", ALBERS)
    store.consume(np.array([1, 3]), _outlines(3)[[0, 2]])
    with pytest.raises(RuntimeError, match=r"parcels \[2\] have no outline"):
        store.close()
    store = OutlineStore(2, tmp_path / "p.wkb", ALBERS)
    store.consume(np.array([1]), _outlines(2)[:1])
    with pytest.raises(RuntimeError, match="finished twice"):
        store.consume(np.array([1]), _outlines(2)[:1])


def test_line_pieces_keep_every_segment_and_the_exact_distance():
    from sxplan.siting._outline_store import distance_to_nearest, line_pieces

    rng = np.random.default_rng(5)
    t = np.linspace(0, 1, 500)
    wiggly = shapely.linestrings(np.c_[t * 1e5, 4e6 + 3e3 * np.sin(t * 40)])
    multi = shapely.multilinestrings([[(0, 4.02e6), (5e4, 4.03e6)], [(6e4, 4.03e6), (6e4, 4.05e6)]])
    ring = shapely.box(8e4, 4.04e6, 8.5e4, 4.045e6)  # a polygon among the lines: kept whole
    short = shapely.linestrings([(1e3, 3.99e6), (2e3, 3.99e6)])
    lines = np.array([wiggly, multi, ring, short], dtype=object)
    pieces = line_pieces(lines)
    assert all(shapely.get_num_coordinates(p) <= 16 for p in pieces if p.geom_type == "LineString")
    assert shapely.equals(shapely.line_merge(shapely.union_all(pieces[:34])), wiggly)
    assert sum(p.geom_type == "Polygon" for p in pieces) == 1
    # the same segments: total length unchanged
    assert np.isclose(
        shapely.length(pieces[shapely.get_type_id(pieces) == 1]).sum(),
        shapely.length(np.array([wiggly, multi, short])).sum(), rtol=1e-12,
    )  # fmt: skip
    x, y = rng.uniform(-1e4, 1.1e5, 300), rng.uniform(3.98e6, 4.06e6, 300)
    polys = shapely.buffer(shapely.points(x, y), rng.uniform(50, 3e3, 300), quad_segs=3)
    polys[0] = shapely.buffer(shapely.points(8.2e4, 4.042e6), 100)  # inside the polygon: 0
    got = distance_to_nearest(shapely.STRtree(pieces), polys)
    want = np.min([shapely.distance(polys, g) for g in lines], axis=0)
    np.testing.assert_array_equal(got, want)
    assert got[0] == 0 and (got == 0).sum() > 1 and (got > 1e3).sum() > 10
    # empty and missing lines are no pieces
    empty = np.array([shapely.LineString(), None, short], dtype=object)
    assert shapely.equals(line_pieces(empty), np.array([short])).all()
    assert line_pieces(np.array([shapely.LineString()], dtype=object)).size == 0


def test_highways_without_geometry_leave_the_distance_missing(tmp_path):
    lines = np.array([shapely.LineString(), None], dtype=object)
    store = OutlineStore(3, tmp_path / "o.wkb", ALBERS, lines)
    store.consume(np.array([1, 2, 3]), _outlines(3))
    store.close()
    assert store.dist_highway_m is not None and np.isnan(store.dist_highway_m).all()
    assert np.isfinite(store.lon).all()


@pytest.mark.parametrize(("rows", "nbytes"), [(20_000, 10**9), (7, 10**9), (20_000, 2_000), (7, 1)])
def test_frames_are_row_blocks_bounded_by_rows_and_outline_bytes(
    tmp_path, monkeypatch, rows, nbytes
):
    """frames() gives the table's rows in order, in blocks of at most FRAME_ROWS rows and
    FRAME_BYTES of WKB (one row at least: a limit of 1 byte gives one row a block)."""
    monkeypatch.setattr(outline_store, "FRAME_ROWS", rows)
    monkeypatch.setattr(outline_store, "FRAME_BYTES", nbytes)
    n = 40
    outlines = _outlines(n)
    store = OutlineStore(n, tmp_path / "o.wkb", ALBERS)
    store.consume(np.arange(1, n + 1), outlines)
    store.close()
    ids = [f"PV-{i:03d}" for i in range(1, n + 1)]
    store.name_rows(ids, np.arange(n))
    table = pd.DataFrame({"parcel_id": ids[::-1], "x": np.arange(n)})
    blocks = list(store.frames(table))
    size = [len(shapely.to_wkb(g)) for g in store.frame(table).geometry]  # 9 vertices, 1 is 15
    assert pd.concat(blocks).equals(store.frame(table))
    assert all(0 < len(b) <= rows for b in blocks)
    i = 0
    for b in blocks:  # each block is as long as both limits allow, and within them
        in_block = size[i : i + len(b)]
        assert len(b) == 1 or sum(in_block) <= nbytes
        nxt = i + len(b)
        if nxt < n:
            assert len(b) == rows or sum(size[i : nxt + 1]) > nbytes
        i = nxt
    # the same greedy cut, row by row
    want, held, count = 0, 0, 0
    for z in size:
        if count and (count == rows or held + z > nbytes):
            want, held, count = want + 1, 0, 0
        held, count = held + z, count + 1
    assert len(blocks) == want + 1
    assert {(20_000, 10**9): 1, (7, 10**9): 6, (7, 1): 40}.get((rows, nbytes), 4) == want + 1
    empty = list(store.frames(table.iloc[:0]))
    assert len(empty) == 1 and len(empty[0]) == 0
