"""Internals of the shared pass: gathering kept cells, and closing writers two at a time."""

import contextlib
import hashlib

import numpy as np
import pytest

from sxplan.layers.grid import GridSpec
from sxplan.layers.io import RasterTileWriter
from sxplan.siting._parcel_pieces import _gather
from sxplan.siting._tile_pass import WriterStack


def test_gather_matches_boolean_indexing_on_views():
    rng = np.random.default_rng(0)
    big = rng.random((9, 12)).astype("float32")
    arr = big[1:-1, 2:-2]  # a non-contiguous view, as tiles cut from a halo read are
    sel = arr > 0.3
    in_kept = rng.random(int(sel.sum())) > 0.5
    flat = np.flatnonzero(sel)[in_kept]
    expected = arr[sel][in_kept]
    assert not arr.flags.c_contiguous
    np.testing.assert_array_equal(_gather(arr, flat, arr.shape[1]), expected)
    np.testing.assert_array_equal(_gather(arr.copy(), flat, arr.shape[1]), expected)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_two(stack_cls, folder, fail=False):
    g = GridSpec.from_bounds((0, 0, 64000, 32000), 1000)
    vals = np.arange(32 * 64, dtype="float32").reshape(32, 64)
    paths = [folder / "a.tif", folder / "b.tif"]
    with stack_cls() as stack:
        for i, p in enumerate(paths):
            w = stack.enter_context(RasterTileWriter(p, g, "float32", float("nan"), cog=True))
            w.write(vals + i, g.full_window())
        if fail:
            raise RuntimeError("boom")
    return paths


def test_writer_stack_writes_the_same_bytes_as_closing_one_by_one(tmp_path):
    import contextlib

    (tmp_path / "seq").mkdir()
    (tmp_path / "par").mkdir()
    seq = _write_two(contextlib.ExitStack, tmp_path / "seq")
    par = _write_two(WriterStack, tmp_path / "par")
    assert [_sha(p) for p in seq] == [_sha(p) for p in par]


def test_writer_stack_leaves_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        _write_two(WriterStack, tmp_path, fail=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_writer_stack_holds_a_writer_readable_until_released(tmp_path):
    import rasterio

    g = GridSpec.from_bounds((0, 0, 64000, 32000), 1000)
    vals = np.arange(32 * 64, dtype="float32").reshape(32, 64)
    vals[:4, :8] = np.nan
    done = []
    (tmp_path / "seq").mkdir()
    seq = _write_two(contextlib.ExitStack, tmp_path / "seq")
    a_path, b_path = tmp_path / "a.tif", tmp_path / "b.tif"
    with WriterStack() as stack:
        a = stack.enter_context(RasterTileWriter(a_path, g, "float32", float("nan"), cog=True))
        b = stack.enter_context(RasterTileWriter(b_path, g, "float32", float("nan"), cog=True))
        a.write(np.arange(32 * 64, dtype="float32").reshape(32, 64), g.full_window())
        b.write(vals, g.full_window())
        stack.after(lambda: done.append(a_path.exists() and b_path.exists()))
        stack.start(hold=[b])
        tiles = b.finish_tiles()  # read while a is converted, before b is
        with rasterio.open(tiles) as src:
            np.testing.assert_array_equal(src.read(1), vals)
        assert not b_path.exists()
        stack.release(b)
    assert done == [True]
    assert _sha(a_path) == _sha(seq[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif", "seq"]
    with rasterio.open(b_path) as src:
        np.testing.assert_array_equal(src.read(1), vals)


def test_writer_stack_error_after_start_removes_what_is_not_converted(tmp_path):
    g = GridSpec.from_bounds((0, 0, 64000, 32000), 1000)
    vals = np.ones((32, 64), dtype="float32")
    done = []
    with pytest.raises(RuntimeError, match="boom"), WriterStack() as stack:
        ws = [
            stack.enter_context(RasterTileWriter(tmp_path / n, g, "float32", 0.0, cog=True))
            for n in ("a.tif", "b.tif")
        ]
        for w in ws:
            w.write(vals, g.full_window())
        stack.after(lambda: done.append(1))
        stack.start(hold=[ws[1]])
        ws[1].finish_tiles()
        raise RuntimeError("boom")
    # the held writer's tile file and temporary are gone; a converted file is whole or absent
    assert set(p.name for p in tmp_path.iterdir()) <= {"a.tif"}
    if (tmp_path / "a.tif").exists():
        import rasterio

        with rasterio.open(tmp_path / "a.tif") as src:
            np.testing.assert_array_equal(src.read(1), vals)
    assert done == []
