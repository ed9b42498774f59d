"""Parcels: hand-counted answers, block splitting, slivers, and tiled == whole-array."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from sxplan.siting.parcels import (
    block_side_cells,
    label_pieces,
    parcels_from_array,
    piece_parcel_ids,
)


def test_blobs_connectivity_and_min_area():
    c = np.zeros((10, 10), bool)
    c[1:4, 1:4] = True  # 9 cells
    c[6:8, 6:8] = True  # 4 cells
    c[8, 8] = True  # touches the 2x2 only at a corner
    ps4, ids4 = parcels_from_array(c, block_cells=10, connectivity=4, min_cells=4)
    assert ps4.stats["cells"].tolist() == [9, 4]  # the corner cell alone (1) is dropped
    ps8, ids8 = parcels_from_array(c, block_cells=10, connectivity=8, min_cells=4)
    assert ps8.stats["cells"].tolist() == [9, 5]
    assert ids8[8, 8] == ids8[6, 6] and ids4[8, 8] == 0
    ps, _ = parcels_from_array(c, block_cells=10, min_cells=6)
    assert ps.n == 1


def test_big_region_split_into_blocks():
    # A 6 x 6 region with max 9 cells -> four 3 x 3 blocks.
    c = np.zeros((8, 8), bool)
    c[0:6, 0:6] = True
    ps, ids = parcels_from_array(c, block_cells=3, max_cells=9, min_cells=2)
    assert ps.stats["cells"].tolist() == [9, 9, 9, 9]
    assert len(np.unique(ids[0:3, 0:3])) == 1 and ids[0, 0] != ids[0, 3]


def test_region_at_most_max_is_kept_whole_across_blocks():
    c = np.zeros((6, 6), bool)
    c[1:4, 1:4] = True  # 9 cells straddling four 2x2 blocks, max 9
    ps, _ = parcels_from_array(c, block_cells=2, max_cells=9, min_cells=1)
    assert ps.stats["cells"].tolist() == [9]


def test_slivers_join_the_neighbour_with_most_contacts():
    # 4 rows x 6 cols, blocks of 3: pieces 9, 9 (rows 0-2) and slivers 3, 3 (row 3).
    # With 8-connectivity the left sliver touches the piece above it 3 + 2 = 5 times, the
    # right upper piece once (diagonal) and the other sliver once: it joins the piece above.
    c = np.ones((4, 6), bool)
    ps, ids = parcels_from_array(c, block_cells=3, max_cells=9, min_cells=4)
    assert ps.stats["cells"].tolist() == [12, 12]
    assert ids[3, 0] == ids[0, 0] and ids[3, 5] == ids[0, 5]


def test_label_pieces_cuts_at_block_lines():
    c = np.ones((4, 4), bool)
    lab, n = label_pieces(c, 0, 0, 2, 8)
    assert n == 4 and lab[0, 0] != lab[0, 2] and lab[0, 0] != lab[2, 0]
    lab, n = label_pieces(c, 1, 1, 2, 8)  # offset: lines at local rows/cols 1 and 3
    assert n == 9


def test_block_side():
    assert block_side_cells(20, 0.0009) == 149
    assert block_side_cells(100, 1.0) == 10


def test_stats_sum_per_parcel():
    c = np.zeros((5, 5), bool)
    c[0:2, 0:2] = True
    v = np.arange(25, dtype=float).reshape(5, 5)
    ps, _ = parcels_from_array(c, block_cells=5, values={"v": v}, tile_size=1)
    assert ps.mean("v")[0] == pytest.approx((0 + 1 + 5 + 6) / 4)
    assert ps.stats["first_index"].tolist() == [0]


def _partition(ids):
    """Canonical form of a labelling: parcel ids are ordered by first cell, so equal as-is."""
    return ids


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    density=st.floats(0.3, 0.8),
    tile=st.integers(2, 9),
    block=st.integers(2, 7),
    conn=st.sampled_from([4, 8]),
    min_cells=st.integers(1, 6),
)
def test_tiled_equals_whole(seed, density, tile, block, conn, min_cells):
    rng = np.random.default_rng(seed)
    c = rng.random((17, 23)) < density
    max_cells = block * block + 3
    v = rng.random(c.shape)
    kw = dict(block_cells=block, connectivity=conn, min_cells=min_cells, max_cells=max_cells)
    whole, ids_w = parcels_from_array(c, values={"v": v}, **kw)
    tiled, ids_t = parcels_from_array(c, values={"v": v}, tile_size=tile, **kw)
    np.testing.assert_array_equal(ids_w, ids_t)
    np.testing.assert_array_equal(whole.stats["cells"], tiled.stats["cells"])
    np.testing.assert_allclose(whole.stats["v_sum"], tiled.stats["v_sum"])
    # Independent check of regions: every parcel lies in one connected region of candidates,
    # regions under the minimum vanish, and regions within max are one parcel each.
    struct = np.ones((3, 3)) if conn == 8 else None
    reg, n = ndimage.label(c, structure=struct)
    for r in range(1, n + 1):
        cells = reg == r
        pids = np.unique(ids_w[cells])
        if cells.sum() < min_cells:
            assert pids.tolist() == [0]
        elif cells.sum() <= max_cells:
            assert pids.size == 1 and pids[0] > 0
        else:
            assert 0 not in pids
    assert np.all((ids_w > 0) <= c)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    row_off=st.integers(0, 50),
    col_off=st.integers(0, 50),
    block=st.integers(1, 12),
    connectivity=st.sampled_from([4, 8]),
)
def test_label_pieces_equals_labelling_each_block_alone(
    seed, h, w, row_off, col_off, block, connectivity
):
    # independent method: label every block on its own, then number the pieces by their
    # first cell in row-major order, as label_pieces documents
    cand = np.random.default_rng(seed).random((h, w)) < 0.6
    labels, n = label_pieces(cand, row_off, col_off, block, connectivity)
    struct = np.ones((3, 3), bool) if connectivity == 8 else None
    ref = np.zeros((h, w), dtype="int64")
    next_id = 0
    rb = (row_off + np.arange(h)) // block
    cb = (col_off + np.arange(w)) // block
    for r in np.unique(rb):
        for c in np.unique(cb):
            rows, cols = np.flatnonzero(rb == r), np.flatnonzero(cb == c)
            sub, k = ndimage.label(cand[np.ix_(rows, cols)], structure=struct)
            ref[np.ix_(rows, cols)] = np.where(sub > 0, sub + next_id, 0)
            next_id += k
    _, first = np.unique(ref.ravel(), return_index=True)
    order = np.zeros(next_id + 1, dtype="int64")
    ids = ref.ravel()[np.sort(first)]
    ids = ids[ids > 0]
    order[ids] = np.arange(1, ids.size + 1)
    assert n == next_id
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, order[ref])


def test_county_cells_sum_pairs_in_parcel_then_county_order():
    """Rows summed per (parcel, county) as np.unique over the pairs orders them; pieces of
    no parcel (0) are dropped."""
    from sxplan.siting._parcel_graph import _county_cells

    rng = np.random.default_rng(5)
    node_parcel = np.concatenate([[0], rng.integers(0, 40, 300)])
    rows = np.column_stack(
        [rng.integers(1, 301, 2000), rng.integers(0, 117, 2000), rng.integers(1, 500, 2000)]
    )
    got = _county_cells([rows[:700], rows[700:]], node_parcel)
    parcel = node_parcel[rows[:, 0]]
    keep = parcel > 0
    pairs = np.column_stack([parcel[keep], rows[keep, 1]])
    key, inv = np.unique(pairs, axis=0, return_inverse=True)
    cnt = np.bincount(inv.ravel(), weights=rows[keep, 2]).astype("int64")
    np.testing.assert_array_equal(got, np.column_stack([key, cnt]))
    assert got.dtype == np.int64
    assert _county_cells([], node_parcel).shape == (0, 3)


def test_rank_order_is_the_order_of_a_three_key_sort():
    """score and area descending (missing scores last), then first cell: pandas' sort."""
    import pandas as pd

    from sxplan.siting.parcel_table import rank_order

    rng = np.random.default_rng(11)
    n = 4000
    df = pd.DataFrame({
        "score_mean": rng.integers(0, 5, n) / 4.0,  # many ties
        "area_km2": rng.integers(0, 3, n) * 0.5,
        "first_index": rng.permutation(n),
    })  # fmt: skip
    df.loc[rng.integers(0, n, 40), "score_mean"] = np.nan
    df.loc[rng.integers(0, n, 40), "score_mean"] = -0.0
    ref = df.sort_values(["score_mean", "area_km2", "first_index"], ascending=[False, False, True])
    got = rank_order(df["score_mean"], df["area_km2"], df["first_index"])
    np.testing.assert_array_equal(got, ref.index.to_numpy())


def test_county_and_base_columns_equal_a_per_parcel_pandas_build():
    # independent method: per parcel, its rows sorted with pandas, bases by groupby sums
    import types

    import pandas as pd

    from sxplan.siting.parcel_table import _base_columns, _joined_counties

    rng = np.random.default_rng(3)
    n = 400
    k = rng.choice([1, 1, 2, 3], n)
    parcel = np.repeat(np.arange(1, n + 1), k)
    cdf = pd.DataFrame({"parcel": parcel, "county": rng.integers(1, 12, parcel.size)})
    cdf = cdf.drop_duplicates(["parcel", "county"]).sort_values(["parcel", "county"])
    cdf["cells"] = rng.integers(1, 4, len(cdf))  # many ties in cells
    cdf["adcode"] = 140100 + cdf["county"]
    cdf = cdf[cdf["parcel"] != 7]  # a parcel in no county
    cells = cdf.groupby("parcel")["cells"].sum().reindex(np.arange(1, n + 1)).fillna(1).to_numpy()
    members = {"a": [140101, 140102, 140103], "b": [140103, 140104], "c": [140111], "d": []}
    bases = types.SimpleNamespace(
        bases=[
            types.SimpleNamespace(id=i, name_zh=f"基地{i}", counties=c) for i, c in members.items()
        ]
    )
    got = _joined_counties(cdf, n)
    en, zh, best = _base_columns(cdf, bases, cells)
    for p in range(1, n + 1):
        rows = cdf[cdf["parcel"] == p].sort_values("cells", ascending=False, kind="stable")
        if p == 7:
            assert got[p - 1] is np.nan or pd.isna(got[p - 1])
        else:
            assert got[p - 1] == ";".join(str(a) for a in rows["adcode"])
        share = {i: rows.loc[rows["adcode"].isin(c), "cells"].sum() / cells[p - 1]
                 for i, c in members.items()}  # fmt: skip
        order = sorted((i for i in members if share[i] > 0), key=lambda i: -share[i])
        assert en[p - 1] == ";".join(order)
        assert zh[p - 1] == ";".join(f"基地{i}" for i in order)
        assert best[p - 1] == max(share.values())
    assert (np.char.count(en.astype(str), ";") >= 1).any()  # parcels in several bases


def _accumulate(c, v, lc, county, tile, block, conn, min_cells, max_cells, **spill):
    """Pieces of every tile with land cover and counties, resolved (as the shared pass).

    Returns the ParcelSet, how many times the accumulator spilled its pieces to disk, and
    how many tiles' borders it then read back from its scratch file.
    """
    from rasterio.windows import Window

    from sxplan.siting._parcel_graph import ParcelAccumulator
    from sxplan.siting._parcel_pieces import piece_tile

    h, w = c.shape
    acc = ParcelAccumulator((h, w), block, conn, min_cells, max_cells, **spill)
    for r0 in range(0, h, tile):
        for c0 in range(0, w, tile):
            win = Window(c0, r0, min(tile, w - c0), min(tile, h - r0))
            sl = (slice(r0, r0 + win.height), slice(c0, c0 + win.width))
            pt = piece_tile(
                c[sl], row_off=r0, col_off=c0, grid_width=w, block_cells=block,
                connectivity=conn, min_cells=min_cells, values={"v": v[sl]},
                max_fields=("v",), landcover=lc[sl], county=county[sl],
            )  # fmt: skip
            acc.add(win, pt)
    borders_on_disk = len(acc._border_file)
    return acc.finish(), acc.spills, borders_on_disk


def _random_case(seed: int):
    """Candidate cells (60 %), a value, land cover and 3 counties on a 31 x 37 grid."""
    rng = np.random.default_rng(seed)
    c = rng.random((31, 37)) < 0.6
    v = rng.random(c.shape)
    lc = rng.integers(0, 9, c.shape).astype("uint8")
    county = rng.integers(1, 4, c.shape).astype("int32")
    return c, v, lc, county


def _assert_same_parcel_set(a, b):
    """Every array of two ParcelSets equal, statistics to the bit and dtype."""
    assert a.n == b.n > 5
    assert sorted(a.stats) == sorted(b.stats)
    for k in b.stats:
        assert a.stats[k].dtype == b.stats[k].dtype, k
        np.testing.assert_array_equal(a.stats[k], b.stats[k])
    for x, y in [(a.lc_cells, b.lc_cells), (a.county_cells, b.county_cells)]:
        assert x.dtype == y.dtype == np.int64
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.node_parcel, b.node_parcel)
    assert a.tile_offsets == b.tile_offsets
    for x, y in zip(a.tile_kept, b.tile_kept, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("tile", [3, 5, 37])
def test_narrow_storage_of_pieces_gives_the_same_parcel_set(monkeypatch, tile):
    """Pieces kept in int32 / uint16 while a pass runs (ParcelAccumulator.add) resolve to the
    same parcels, statistics, dtypes, land-cover and county cells as pieces kept in int64
    (forced by a node-id limit of 0)."""
    from sxplan.siting import _parcel_graph

    c, v, lc, county = _random_case(7)
    args = (c, v, lc, county, tile, 4, 8, 3, 19)
    narrow, *_ = _accumulate(*args)
    monkeypatch.setattr(_parcel_graph, "_INT32_MAX", 0)
    wide, *_ = _accumulate(*args)
    _assert_same_parcel_set(narrow, wide)
    # every candidate cell of a parcel is counted once by land cover and once by county
    assert narrow.lc_cells.sum() == narrow.county_cells[:, 2].sum() == narrow.stats["cells"].sum()


@pytest.mark.parametrize(("tile", "spill_bytes"), [(3, 0), (5, 2_000), (37, 0)])
def test_pieces_spilled_to_disk_give_the_same_parcel_set(tmp_path, tile, spill_bytes):
    """Pieces and tile borders written to scratch files during a pass (spill_bytes 0: after
    every tile; 2,000: every few tiles) resolve to the same parcels, to the bit and dtype, as
    pieces held in memory, and finish() leaves no scratch file behind."""
    c, v, lc, county = _random_case(11)
    args = (c, v, lc, county, tile, 4, 8, 3, 19)
    held, none, none_read = _accumulate(*args)
    spill_dir = tmp_path / "pieces"
    spilled, spills, read = _accumulate(*args, spill_dir=spill_dir, spill_bytes=spill_bytes)
    assert none == none_read == 0
    # every tile adds its borders: a limit of 0 spills after each tile
    n_tiles = len(range(0, 31, tile)) * len(range(0, 37, tile))
    if spill_bytes == 0:
        assert spills == read == n_tiles
    else:
        assert 2 <= spills < n_tiles
        assert 0 < read <= n_tiles  # the borders of the tiles after the last spill stay held
    assert spill_dir.is_dir() and not any(spill_dir.iterdir())
    _assert_same_parcel_set(spilled, held)


def test_tile_side_runs_give_back_the_same_numbers():
    """A tile side kept as runs (_pack_side) unpacks to the same numbers and dtype; a side
    whose runs would take more bytes is kept as it is."""
    from sxplan.siting._parcel_pieces import _pack_side, _unpack_side

    rng = np.random.default_rng(3)
    runs = np.repeat(rng.integers(0, 5, 60), rng.integers(1, 40, 60))
    sides = [
        np.zeros(0, "uint16"), np.array([9], "uint16"), np.full(1_000, 7, "uint16"),
        runs.astype("uint16"), runs.astype("uint32"), rng.integers(0, 900, 200).astype("uint16"),
    ]  # fmt: skip
    kept = [_pack_side(a) for a in sides]
    assert [isinstance(k, tuple) for k in kept] == [False, False, True, True, True, False]
    for a, k in zip(sides, kept, strict=True):
        back = _unpack_side(k)
        assert back.dtype == a.dtype
        np.testing.assert_array_equal(back, a)
    values, ends = kept[2]  # one run: the value and the side's length
    assert values.tolist() == [7] and ends.tolist() == [1_000]


@pytest.mark.parametrize("spill_bytes", [None, 0])
def test_tile_sides_kept_as_runs_give_the_same_parcel_set(tmp_path, monkeypatch, spill_bytes):
    """Tile borders kept as runs (in memory, or spilled after every tile) resolve to the same
    parcels, to the bit and dtype, as borders kept cell by cell."""
    from sxplan.siting import _parcel_graph

    rng = np.random.default_rng(5)
    coarse = rng.random((9, 11)) < 0.55  # blocks of 5 x 5 cells: sides cross few pieces
    c = np.kron(coarse, np.ones((5, 5), dtype=bool))[:43, :53]
    v = rng.random(c.shape)
    lc = rng.integers(0, 9, c.shape).astype("uint8")
    county = np.where(np.arange(c.shape[1]) < 26, 1, 2)[None, :].repeat(c.shape[0], 0)
    args = (c, v, lc, county.astype("int32"), 16, 8, 8, 3, 60)
    spill = {} if spill_bytes is None else {"spill_dir": tmp_path / "p", "spill_bytes": 0}
    real, packed = _parcel_graph._pack_side, []

    def spy(a):
        out = real(a)
        packed.append(isinstance(out, tuple))
        return out

    monkeypatch.setattr(_parcel_graph, "_pack_side", spy)
    as_runs, *_ = _accumulate(*args, **spill)
    assert sum(packed) > len(packed) // 2  # most sides were kept as runs
    monkeypatch.setattr(_parcel_graph, "_pack_side", lambda a: a)
    as_cells, *_ = _accumulate(*args, **spill)
    _assert_same_parcel_set(as_runs, as_cells)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_piece_parcel_ids_maps_kept_labels_cell_by_cell(connectivity):
    """Parcel id per cell from a tile's kept labels: the kept labels' cells get their parcel
    ids, every other cell 0 (checked cell by cell with a dictionary)."""
    rng = np.random.default_rng(7)
    candidate = rng.random((57, 61)) < 0.55
    lab, n = label_pieces(candidate, 13, 29, 9, connectivity)
    kept = np.sort(rng.choice(np.arange(1, n + 1), size=n // 2, replace=False))
    parcel_of_kept = rng.integers(0, 40, size=kept.size)  # 0: a kept label later dropped
    got = piece_parcel_ids(candidate, 13, 29, 9, connectivity, kept, parcel_of_kept)
    to_parcel = dict(zip(kept.tolist(), parcel_of_kept.tolist(), strict=True))
    want = np.array([to_parcel.get(v, 0) for v in lab.ravel().tolist()]).reshape(lab.shape)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    none = piece_parcel_ids(candidate, 13, 29, 9, connectivity, kept[:0], parcel_of_kept[:0])
    assert none.dtype == np.int32 and not none.any()


def test_piece_parcel_ids_refuses_kept_labels_it_does_not_find():
    """Kept labels from another labelling (a bug upstream) are refused with the tile named,
    not mapped to other cells."""
    candidate = np.zeros((6, 6), dtype=bool)
    candidate[1:3, 1:3] = True  # one piece: label 1
    with pytest.raises(RuntimeError, match=r"row 12, column 18: kept labels 1\.\.2 .* 1 labels"):
        piece_parcel_ids(candidate, 12, 18, 9, 8, np.array([1, 2]), np.array([5, 6]))
