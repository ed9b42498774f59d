"""Internals of the shared pass: gathering kept cells, and closing writers two at a time."""

import hashlib

import numpy as np
import pytest

from sxplan.layers.grid import GridSpec
from sxplan.layers.io import RasterTileWriter
from sxplan.siting._parcel_pieces import _gather
from sxplan.siting._tile_pass import _WriterStack


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
    par = _write_two(_WriterStack, tmp_path / "par")
    assert [_sha(p) for p in seq] == [_sha(p) for p in par]


def test_writer_stack_leaves_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        _write_two(_WriterStack, tmp_path, fail=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
