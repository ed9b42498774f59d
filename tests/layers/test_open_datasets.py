"""Datasets kept open for a windowed pass: same values, one dataset per file, closed at exit."""

import os
import threading

import numpy as np
from rasterio.windows import Window

from sxplan.layers import GridSpec
from sxplan.layers import open_datasets as od
from sxplan.layers.io import write_raster


def _layer(tmp_path, name="v.tif", offset=0.0):
    g = GridSpec.from_bounds((0, 0, 700 * 10, 600 * 10), 10)
    values = np.arange(600 * 700, dtype="float32").reshape(600, 700) + np.float32(offset)
    values[5, 7] = -9999.0
    return write_raster(tmp_path / name, values, g, nodata=-9999.0, cog=False), values


WINDOWS = [Window(0, 0, 300, 256), Window(290, 250, 300, 300), Window(650, 590, 50, 10)]


def test_kept_datasets_read_the_same_values_and_close_at_exit(tmp_path):
    layer, values = _layer(tmp_path)
    outside = [layer.read_valid(w) for w in WINDOWS]
    got = {}

    def read(i):
        got[i] = [layer.read_valid(w) for w in WINDOWS]

    with od.keep_datasets_open():
        threads = [threading.Thread(target=read, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert list(od._OPEN) == [os.fspath(layer.path)]  # one dataset for all threads
        kept = od._OPEN[os.fspath(layer.path)].dataset
        assert not kept.closed
    assert kept.closed and not od._OPEN
    for i in range(3):
        for (a, va), (b, vb), w in zip(outside, got[i], WINDOWS, strict=True):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(va, vb)
            r, c = int(w.row_off), int(w.col_off)
            np.testing.assert_array_equal(a, values[r : r + a.shape[0], c : c + a.shape[1]])
    assert not outside[0][1][5, 7] and outside[0][1].sum() == 300 * 256 - 1


def test_a_file_replaced_inside_the_block_is_read_afresh(tmp_path):
    layer, values = _layer(tmp_path)
    with od.keep_datasets_open():
        before, _ = layer.read_valid(WINDOWS[1])
        _layer(tmp_path, offset=1.0)  # written atomically: a new file at the same path
        after, _ = layer.read_valid(WINDOWS[1])
    np.testing.assert_array_equal(after, before + np.float32(1.0))


def test_nested_blocks_close_at_the_outermost_exit(tmp_path):
    layer, _ = _layer(tmp_path)
    with od.keep_datasets_open():
        with od.keep_datasets_open():
            layer.read(WINDOWS[0])
        assert len(od._OPEN) == 1
    assert not od._OPEN
