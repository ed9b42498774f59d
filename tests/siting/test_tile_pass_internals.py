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


def _open_four(stack, folder):
    g = GridSpec.from_bounds((0, 0, 64000, 32000), 1000)
    vals = np.arange(32 * 64, dtype="float32").reshape(32, 64)
    paths = [folder / f"{n}.tif" for n in "abcd"]
    for i, p in enumerate(paths):
        w = stack.enter_context(RasterTileWriter(p, g, "float32", float("nan"), cog=True))
        w.write(vals + i, g.full_window())
    return paths, vals


def test_deferred_copies_run_while_the_caller_works_first_files_first(tmp_path, monkeypatch):
    """defer=2: the pass returns before its files are in place; ``first`` are copied
    before the others, ``wait`` puts one in place, the exit waits for all and runs ``then``;
    the bytes are those of closing one by one."""
    import contextlib
    import threading

    (tmp_path / "seq").mkdir()
    (tmp_path / "def").mkdir()
    with contextlib.ExitStack() as stack:
        seq, _ = _open_four(stack, tmp_path / "seq")
    gate = threading.Event()
    started = []
    exit_ = RasterTileWriter.__exit__

    def held_exit(self, *exc):
        started.append(self.path.name)
        gate.wait(30)  # hold every copy until the caller has looked
        return exit_(self, *exc)

    monkeypatch.setattr(RasterTileWriter, "__exit__", held_exit)
    done = []
    stack = _WriterStack(defer=2, first=[tmp_path / "def" / "c.tif"], then=lambda: done.append(1))
    with stack:
        paths, vals = _open_four(stack, tmp_path / "def")
    conv = stack.conversions
    with conv:
        assert not any(p.exists() for p in paths)  # the copies are held
        gate.set()
        conv.wait([paths[2]])
        assert paths[2].exists()
        assert done == []
    assert started[0] == "c.tif" and sorted(started) == ["a.tif", "b.tif", "c.tif", "d.tif"]
    assert done == [1]
    assert [_sha(p) for p in seq] == [_sha(p) for p in paths]
    assert sorted(p.name for p in (tmp_path / "def").iterdir()) == [
        "a.tif",
        "b.tif",
        "c.tif",
        "d.tif",
    ]


def test_deferred_copies_after_a_failure_leave_complete_files_or_none(tmp_path, monkeypatch):
    """The work after the pass fails while two copies run: the others are never started,
    their tile files go, and what is in the folder is whole; the error is the caller's."""
    import threading

    import rasterio

    gate = threading.Event()
    exit_ = RasterTileWriter.__exit__

    def held_exit(self, *exc):
        if exc[0] is None:
            gate.wait(30)
        return exit_(self, *exc)

    monkeypatch.setattr(RasterTileWriter, "__exit__", held_exit)
    stack = _WriterStack(defer=2, then=lambda: pytest.fail("then after a failure"))
    with stack:
        paths, vals = _open_four(stack, tmp_path)
    with pytest.raises(RuntimeError, match="outlines failed"):
        with stack.conversions:
            threading.Timer(0.2, gate.set).start()  # the two running copies finish later
            raise RuntimeError("outlines failed")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(n.endswith(".tif") and n[0] in "abcd" for n in left), left
    for name in left:
        i = "abcd".index(name[0])
        with rasterio.open(tmp_path / name) as src:
            np.testing.assert_array_equal(src.read(1), vals + i)


def test_without_background_copies_every_file_is_in_place_when_the_pass_returns(tmp_path):
    """defer=0 (a budget with no room for copies beside the parcels): copied before the
    stack's exit returns, and ``then`` has run."""
    done = []
    stack = _WriterStack(defer=0, then=lambda: done.append(1))
    with stack:
        paths, _ = _open_four(stack, tmp_path)
    assert all(p.exists() for p in paths) and done == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif", "c.tif", "d.tif"]
