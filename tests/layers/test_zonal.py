"""Exact zone coverage (layers/zonal.py) against exactextract itself and hand-derived sums."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from exactextract import exact_extract
from shapely.geometry import Polygon, box

from sxplan.errors import LayerValueError
from sxplan.layers.grid import GridSpec
from sxplan.layers.windows import plan_tiles
from sxplan.layers.zonal import ZoneSums, zone_cover

CRS = "EPSG:3857"


def test_a_county_over_half_a_column_of_cells_counts_it_half():
    # 4 x 4 cells of 100 m (1 ha); the county covers columns 0-1 and the left half of column 2
    g = GridSpec.from_bounds((0, 0, 400, 400), 100, crs=CRS)
    cov = zone_cover(gpd.GeoSeries([box(0, 0, 250, 400)], crs=CRS), g, mem_limit_mb=64)
    w = g.full_window()
    assert cov.interior(w).tolist() == [[0, 0, -1, -1]] * 4
    rows, cols, zones, c, _ = cov.boundary(w)
    assert rows.tolist() == [0, 1, 2, 3] and cols.tolist() == [2] * 4 and c.tolist() == [0.5] * 4
    ones = np.ones((4, 4), dtype="float32")
    acc = ZoneSums(cov, n_classes=1, values=True)
    acc.add(acc.tile(w, classes=np.zeros((4, 4), dtype="int32"), values=ones, valid=ones > 0))
    # fraction 1.0 on 8 whole cells and 4 half cells: 10 cells of 1 ha = 10 ha
    assert [a.tolist() for a in acc.weighted_sums()] == [[10.0], [10.0]]
    assert acc.class_coverage().tolist() == [[10.0]] and acc.counts.tolist() == [[8]]
    assert cov.full_cells.tolist() == [8]


def _zones():
    """Five zones on a 60 x 60 m grid of 10 m cells (6 x 6): A left of a slanted line, B above
    and C below y = 35 right of it (so cell row 2, column 2 is cut by all three), D a 3 x 3 m
    county inside one cell (cut out of B), E a strip over the whole width at the bottom."""
    frame = box(0, 10, 60, 60)
    a = Polygon([(0, 10), (22, 10), (25, 35), (28, 60), (0, 60)])
    right = frame.difference(a)
    d = box(41, 41, 44, 44)
    b = right.intersection(box(0, 35, 60, 60)).difference(d)
    c = right.intersection(box(0, 10, 60, 35))
    e = box(0, 0, 60, 10)
    return gpd.GeoDataFrame({"k": range(5)}, geometry=[a, b, c, d, e], crs=CRS)


def _grid():
    return GridSpec.from_bounds((0, 0, 60, 60), 10, crs=CRS)


def _write(tmp_path, name, array, g, nodata):
    path = tmp_path / f"{name}.tif"
    with rasterio.open(path, "w", **g.profile(array.dtype.name, nodata=nodata)) as dst:
        dst.write(array, 1)
    return path


def _dense(cover, g):
    """Zone x cell coverage rebuilt from the cover (interior runs + boundary table)."""
    out = np.zeros((cover.n_zones, g.n_cells))
    inner = cover.interior(g.full_window()).ravel()
    for k in range(cover.n_zones):
        out[k, inner == k] = 1.0
    rows, cols, zones, c, _ = cover.boundary(g.full_window())
    out[zones, rows * g.width + cols] += c
    return out


def test_cover_is_exactextracts_coverage_cell_for_cell(tmp_path):
    g = _grid()
    zones = _zones()
    cover = zone_cover(zones, g, mem_limit_mb=64)
    path = _write(tmp_path, "v", np.zeros(g.shape, dtype="float32"), g, None)
    ref = exact_extract(str(path), zones, ["cell_id", "coverage"], output="pandas")
    expected = np.zeros((len(zones), g.n_cells))
    for k, row in ref.iterrows():
        expected[k, np.asarray(row["cell_id"], dtype="int64")] = row["coverage"]
    assert np.array_equal(_dense(cover, g), expected)  # bit for bit
    # the cell at row 2, column 2 is cut by A, B and C; D lies inside one cell
    cell = 2 * g.width + 2
    assert (expected[:3, cell] > 0).all() and (expected[:3, cell] < 1).all()
    assert expected[3].sum() == pytest.approx(9 / 100)
    assert cover.full_cells.tolist() == (expected == 1).sum(axis=1).tolist()


def _sums(cover, tile, values=None, valid=None, classes=None, n_classes=0):
    acc = ZoneSums(cover, n_classes=n_classes, values=values is not None)
    g = _grid()
    for t in plan_tiles(g, tile_size=tile):
        sl = t.window.toslices()
        acc.add(
            acc.tile(
                t.window,
                classes=None if classes is None else classes[sl],
                values=None if values is None else values[sl],
                valid=None if valid is None else valid[sl],
            )
        )
    return acc


@pytest.mark.parametrize("tile", [1, 2, 4, 5, 6])
def test_tile_sums_equal_exactextract_sum_and_count(tmp_path, rng, tile):
    g = _grid()
    zones = _zones()
    cover = zone_cover(zones, g, mem_limit_mb=64)
    values = rng.uniform(0, 1000, g.shape).astype("float32")
    values[rng.random(g.shape) < 0.2] = -1.0  # nodata, including boundary cells
    path = _write(tmp_path, "v", values, g, -1.0)
    ref = exact_extract(str(path), zones, ["sum", "count"], output="pandas")
    total, count = _sums(cover, tile, values, values != -1.0).weighted_sums()
    np.testing.assert_allclose(total, ref["sum"], rtol=1e-12)
    np.testing.assert_allclose(count, ref["count"], rtol=1e-12)


@pytest.mark.parametrize("tile", [1, 3, 6])
def test_class_coverage_equals_exactextract_sums_of_indicators(tmp_path, rng, tile):
    g = _grid()
    zones = _zones()
    cover = zone_cover(zones, g, mem_limit_mb=64)
    classes = rng.integers(-1, 3, g.shape).astype("int32")  # -1: no data
    got = _sums(cover, tile, classes=classes, n_classes=3).class_coverage()
    for k in range(3):
        path = _write(tmp_path, f"is{k}", (classes == k).astype("float32"), g, None)
        ref = exact_extract(str(path), zones, ["sum"], output="pandas")
        np.testing.assert_allclose(got[:, k], ref["sum"], rtol=1e-12, atol=1e-12)


def test_class_counts_in_int64_beyond_int32_bins_are_the_same(rng, monkeypatch):
    # a national grid with very many classes would pass 2**31 bins: the int64 form is kept
    # for it; forced here on a small grid, it gives the int32 form's counts exactly
    import sxplan.layers.zonal as zonal

    g = _grid()
    cover = zone_cover(_zones(), g, mem_limit_mb=64)
    classes = rng.integers(-1, 5, g.shape).astype("int32")
    narrow = _sums(cover, 3, classes=classes, n_classes=5).class_coverage()
    monkeypatch.setattr(zonal, "_INT32_BINS", 0)
    wide = _sums(cover, 3, classes=classes, n_classes=5).class_coverage()
    assert np.array_equal(narrow, wide) and narrow.sum() > 0


def test_totals_do_not_depend_on_the_tiling(rng):
    # runs cut every 2 columns: tiles of 2, 4 and 6 cells (and the whole grid) give the same
    # bits; tiles of 1 and 5 cut pieces and agree to rounding
    g = _grid()
    cover = zone_cover(_zones(), g, mem_limit_mb=64, piece_cols=2)
    values = rng.uniform(0, 1000, g.shape).astype("float32")
    valid = rng.random(g.shape) > 0.1
    classes = rng.integers(-1, 4, g.shape).astype("int32")
    out = {}
    for tile in (2, 4, 6, 1, 5):
        acc = _sums(cover, tile, values, valid, classes, 4)
        out[tile] = (*acc.weighted_sums(), acc.class_coverage())
    for tile in (4, 6):
        for a, b in zip(out[2], out[tile], strict=True):
            assert np.array_equal(a, b)
    for tile in (1, 5):
        for a, b in zip(out[2], out[tile], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13)


def test_runs_stop_at_row_ends():
    # a zone over whole rows: its coverage-1 cells are consecutive across row ends
    g = GridSpec.from_bounds((0, 0, 30, 30), 10, crs=CRS)
    cover = zone_cover(gpd.GeoSeries([box(0, 0, 30, 20)], crs=CRS), g, mem_limit_mb=64)
    assert cover.run_row.tolist() == [1, 2]
    assert cover.interior(g.full_window()).tolist() == [[-1] * 3, [0] * 3, [0] * 3]
    # one stretch of consecutive cells from the middle of row 0 to the end of row 2
    shape = box(10, 20, 30, 30).union(box(0, 0, 30, 20))
    cover = zone_cover(gpd.GeoSeries([shape], crs=CRS), g, mem_limit_mb=64)
    assert cover.run_row.tolist() == [0, 1, 2]
    assert cover.run_start.tolist() == [1, 0, 0] and cover.run_end.tolist() == [3, 3, 3]
    # and cut every 2 columns
    cover = zone_cover(gpd.GeoSeries([shape], crs=CRS), g, mem_limit_mb=64, piece_cols=2)
    assert cover.run_row.tolist() == [0, 0, 1, 1, 2, 2]
    assert cover.run_start.tolist() == [1, 2, 0, 2, 0, 2]
    assert cover.run_end.tolist() == [2, 3, 2, 3, 2, 3]
    assert cover.interior(g.full_window()).tolist() == [[-1, 0, 0], [0] * 3, [0] * 3]


def test_overlapping_zones_are_refused():
    g = GridSpec.from_bounds((0, 0, 30, 30), 10, crs=CRS)
    z = gpd.GeoSeries([box(0, 0, 30, 30), box(0, 0, 20, 20)], crs=CRS)
    with pytest.raises(LayerValueError, match="overlap"):
        zone_cover(z, g, mem_limit_mb=64)


@pytest.mark.parametrize("max_cells", [1, 7, 40])
def test_zones_done_in_bands_of_rows_give_the_same_cover(tmp_path, max_cells):
    # a zone whose bounding box exceeds max_cells is done band by band (memory); exactextract
    # computes each cell's coverage on the same grid, so the cover is the same, bit for bit
    g = _grid()
    zones = _zones()
    whole = zone_cover(zones, g, mem_limit_mb=64, piece_cols=2)
    banded = zone_cover(zones, g, mem_limit_mb=64, piece_cols=2, max_cells=max_cells)
    for name in ("run_row", "run_start", "run_end", "run_zone", "cell", "zone", "coverage"):
        assert np.array_equal(getattr(whole, name), getattr(banded, name)), name
    assert whole.full_cells.tolist() == banded.full_cells.tolist()
    # runs are held in int32 (a national grid has tens of millions), handed out in int64
    assert {getattr(whole, n).dtype for n in ("run_row", "run_start", "run_end")} == {
        np.dtype("int32")
    }
    assert all(a.dtype == np.int64 for a in whole.runs(g.full_window())[:3])
    n_runs, n_entries = whole.run_row.size, whole.cell.size
    assert whole.nbytes == 16 * n_runs + 20 * n_entries + 8 * len(zones)
    path = _write(tmp_path, "v", np.zeros(g.shape, dtype="float32"), g, None)
    ref = exact_extract(str(path), zones, ["cell_id", "coverage"], output="pandas")
    expected = np.zeros((len(zones), g.n_cells))
    for k, row in ref.iterrows():
        expected[k, np.asarray(row["cell_id"], dtype="int64")] = row["coverage"]
    assert np.array_equal(_dense(banded, g), expected)


def test_sums_count_their_own_bytes():
    # what the sinks pass subtracts from the tiles' budget besides the cover
    g = _grid()
    cover = zone_cover(_zones(), g, mem_limit_mb=64, piece_cols=2)
    runs, entries, zones = cover.run_row.size, cover.cell.size, cover.n_zones
    assert ZoneSums(cover, n_classes=3).nbytes == 8 * 3 * zones + 4 * entries
    assert ZoneSums(cover, n_classes=3, values=True).nbytes == (
        8 * 3 * zones + 4 * entries + 16 * runs + 8 * entries
    )


def test_cover_is_sorted_field_by_field_without_holding_the_unsorted_copies():
    import tracemalloc

    from sxplan.layers.zonal import _assemble_cover

    n = 2_000_000
    rng = np.random.default_rng(0)
    runs = {
        "row": [rng.permutation(n).astype("int32")],
        "start": [np.zeros(n, "int32")],
        "end": [np.ones(n, "int32")],
        "zone": [np.zeros(n, "int32")],
    }
    edges = {
        "cell": [rng.permutation(n).astype("int64")],
        "zone": [np.zeros(n, "int32")],
        "coverage": [np.full(n, 0.5)],
    }
    held = 4 * 4 * n + (8 + 4 + 8) * n  # the joined fields
    tracemalloc.start()
    cover = _assemble_cover(runs, edges, {0: n}, (n, 2), 1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (np.diff(cover.run_row) > 0).all() and (np.diff(cover.cell) > 0).all()
    # by hand: the joined fields, the sort order (int64) and one sorted field (8 B) at a time,
    # plus 8 MB for small arrays; holding the unsorted copies too traced 126 MB against 103
    assert peak < held + 8 * n + 8 * n + 8 * 2**20


_FIELDS = ("run_row", "run_start", "run_end", "run_zone", "cell", "zone", "coverage", "full_cells")


def _voronoi_zones(n=40, seed=3):
    """``n`` zones tiling a 2,000 x 1,500 m frame (Voronoi cells of random points)."""
    import shapely

    rng = np.random.default_rng(seed)
    frame = box(0, 0, 2000, 1500)
    pts = shapely.multipoints(rng.uniform((0, 0), (2000, 1500), size=(n, 2)))
    cells = shapely.voronoi_polygons(pts, extend_to=frame)
    polys = [shapely.intersection(c, frame) for c in shapely.get_parts(cells)]
    return gpd.GeoDataFrame(geometry=polys, crs=CRS)


@pytest.mark.parametrize("max_cells", [None, 1_000, 7])
@pytest.mark.parametrize("case", ["five", "voronoi"])
def test_a_helper_process_gives_the_same_cover_bit_for_bit(case, max_cells, monkeypatch):
    # the zones are shared between this process and a helper (exactextract holds the GIL, so
    # only a second process uses a second core); their pieces are joined zone by zone, band
    # by band, so the cover is the same arrays whoever computed which zone
    import warnings

    import sxplan.layers._zone_extract as zx
    from sxplan.layers import heap

    if case == "five":
        g, zones = _grid(), _zones()
    else:
        g, zones = GridSpec.from_bounds((0, 0, 2000, 1500), 10, crs=CRS), _voronoi_zones()
    kw = dict(mem_limit_mb=64, piece_cols=16, max_cells=max_cells)
    alone = zone_cover(zones, g, helpers=0, **kw)
    here, real_extract = set(), zx.extract

    def extract_here(features, srs_wkt, grid, jobs):  # this process's share only
        here.update(k for job in jobs for k in job["zones"])
        return real_extract(features, srs_wkt, grid, jobs)

    monkeypatch.setattr(zx, "extract", extract_here)
    monkeypatch.setattr(heap, "_HELPER_PEAK_MB", [0.0])  # only this call's helper counts
    monkeypatch.setattr(heap, "_AT_ONCE_MB", [0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a helper that failed would warn: it must not
        shared = zone_cover(zones, g, helpers=1, **kw)
    # split by bounding-box cells: this process did some zones, the helper the others
    assert 0 < len(here) < len(zones)
    for name in _FIELDS:
        assert np.array_equal(getattr(alone, name), getattr(shared, name)), name
        assert getattr(alone, name).dtype == getattr(shared, name).dtype, name
    assert heap.helper_peak_mb() > 0  # it ran, and said how much memory it took
    # counted with this process's peak by the time it ended, no later one
    at_once = heap.peak_at_once_mb(0.0) - heap.helper_peak_mb()
    assert 0 < at_once <= heap.peak_resident_mb()
    if case == "voronoi":  # every cell of the frame covered once, in whole or in parts
        assert alone.full_cells.sum() + alone.coverage.sum() == pytest.approx(g.n_cells)
        # the helper's room is planned with an estimate of its pieces: never below them
        from sxplan.layers._zone_extract import piece_bytes
        from sxplan.layers.zonal import _bbox_windows

        boxes = _bbox_windows(zones.reset_index(drop=True), g)
        estimate = sum(piece_bytes(b.height, b.width, 16) for b in boxes)
        assert estimate >= 16 * alone.run_row.size + 20 * alone.cell.size


@pytest.mark.parametrize("python", ["/nonexistent/python3", "false"])
def test_a_helper_that_cannot_run_leaves_its_zones_to_this_process(monkeypatch, python):
    # a Python that is not there, or a program that exits 1 at once: the cover is the same,
    # computed here, and a warning says why it was slower
    import shutil

    import sxplan.layers._zone_extract as zx

    g, zones = GridSpec.from_bounds((0, 0, 2000, 1500), 10, crs=CRS), _voronoi_zones()
    alone = zone_cover(zones, g, mem_limit_mb=64, helpers=0)
    monkeypatch.setattr(zx, "_HELPER_PYTHON", shutil.which(python) or python)
    with pytest.warns(RuntimeWarning, match="helper process failed .* done in this process"):
        shared = zone_cover(zones, g, mem_limit_mb=64, helpers=1)
    for name in _FIELDS:
        assert np.array_equal(getattr(alone, name), getattr(shared, name)), name


def test_a_helper_whose_answer_is_unreadable_is_not_waited_for(tmp_path, monkeypatch):
    # a helper that reads its request, then writes 64 MB that are not a pickle (far more than a
    # pipe holds) and would block there for ever: this process reads a bad first byte, and
    # waiting for the helper to exit before closing the pipe hung the run (seen at s32 under
    # py-spy); now the pipe is closed, the helper is killed if it does not end, the cover is
    # computed here, and the warning says what was read
    import sys
    import threading
    import warnings

    import sxplan.layers._zone_extract as zx

    fake = tmp_path / "fake_python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        "sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(b'x' * 64_000_000)\n"
        "sys.stdout.buffer.flush()\n"
        "time.sleep(600)\n"
    )
    fake.chmod(0o755)
    g, zones = GridSpec.from_bounds((0, 0, 2000, 1500), 10, crs=CRS), _voronoi_zones()
    alone = zone_cover(zones, g, mem_limit_mb=64, helpers=0)
    monkeypatch.setattr(zx, "_HELPER_PYTHON", str(fake))
    monkeypatch.setattr(zx, "_EXIT_GRACE_S", 1.0)  # it sleeps once written: killed after 1 s
    got = {}

    def shared():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got["cover"] = zone_cover(zones, g, mem_limit_mb=64, helpers=1)
        got["warnings"] = [str(w.message) for w in caught]

    worker = threading.Thread(target=shared, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the run waited for a helper that could not finish"
    (message,) = [m for m in got["warnings"] if "helper process failed" in m]
    assert "could not be read (UnpicklingError" in message
    assert "done in this process" in message
    for name in _FIELDS:
        assert np.array_equal(getattr(alone, name), getattr(got["cover"], name)), name


def test_the_helpers_answer_survives_writes_cut_short_by_signals():
    # a pipe write interrupted by a stop and continue (a profiler attaching) is partial; the
    # helper's answer, 32 MB of arrays pickled as the helper does, must arrive whole however
    # often the writer is stopped (through sys.stdout.buffer it came out corrupted in 5 of 5
    # such trials, s32)
    import os
    import pickle
    import signal
    import subprocess
    import sys
    import threading
    import time

    child = (
        "import pickle, sys\n"
        "import numpy as np\n"
        "from sxplan.layers._zone_extract import _FdWriter\n"
        "obj = [np.arange(i * 100_000, (i + 1) * 100_000) for i in range(40)], 1.5\n"
        "pickle.dump(obj, _FdWriter(sys.stdout.fileno()), protocol=pickle.HIGHEST_PROTOCOL)\n"
    )
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
        done = threading.Event()

        def stop_and_continue(pid=proc.pid, done=done):
            while not done.is_set():
                try:
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.0005)
                    os.kill(pid, signal.SIGCONT)
                    time.sleep(0.0005)
                except ProcessLookupError:
                    return

        storm = threading.Thread(target=stop_and_continue)
        storm.start()
        try:
            chunks = []
            while chunk := proc.stdout.read(65536):  # a slow reader: the pipe stays full
                chunks.append(chunk)
                time.sleep(0.0005)
        finally:
            done.set()
            storm.join()
            os.kill(proc.pid, signal.SIGCONT)
            assert proc.wait(timeout=60) == 0
        arrays, peak = pickle.loads(b"".join(chunks))
        assert peak == 1.5 and len(arrays) == 40
        for i, a in enumerate(arrays):
            assert np.array_equal(a, np.arange(i * 100_000, (i + 1) * 100_000))


def test_the_helper_does_not_run_the_callers_script_again(tmp_path):
    # a user's script without an `if __name__ == "__main__"` guard: the helper is started as
    # `python -m sxplan.layers._zone_extract`, not by multiprocessing, so the script runs once
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "import warnings\n"
        "import geopandas as gpd\n"
        "from shapely.geometry import box\n"
        "from sxplan.layers.grid import GridSpec\n"
        "from sxplan.layers.zonal import zone_cover\n"
        "warnings.simplefilter('error')\n"
        "print('top level ran')\n"
        "g = GridSpec.from_bounds((0, 0, 40, 20), 1, crs='EPSG:3857')\n"
        "z = gpd.GeoSeries([box(0, 0, 25, 20), box(25, 0, 40, 20)], crs='EPSG:3857')\n"
        "print(int(zone_cover(z, g, mem_limit_mb=64, helpers=1).full_cells.sum()))\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    # 25 x 20 + 15 x 20 cells wholly inside the two boxes
    assert out.stdout.split("\n")[:2] == ["top level ran", "800"], out.stdout + out.stderr


def test_a_helper_is_started_only_where_it_pays():
    import os

    from sxplan.layers._zone_extract import (
        HELPER_BASE_MB,
        HELPER_MIN_CELLS,
        split_zones,
        use_helper,
    )

    two_cores = len(os.sched_getaffinity(0)) >= 2
    share = 480 * 2**20  # a 1,024 MB budget's tile share
    assert use_helper(HELPER_MIN_CELLS, share) is two_cores
    assert not use_helper(HELPER_MIN_CELLS - 1, share)  # too small to pay for starting it
    # the pieces the helper keeps until it sends them come out of its room
    assert not use_helper(HELPER_MIN_CELLS, share, share / 2)
    # half the share must hold the helper's imports and 32 MB to work in
    assert not use_helper(HELPER_MIN_CELLS, 2 * (HELPER_BASE_MB + 31) * 2**20)
    assert use_helper(HELPER_MIN_CELLS, 2 * (HELPER_BASE_MB + 32) * 2**20) is two_cores
    # a run already near its heap ceiling (half its budget) leaves the helper no room
    from sxplan.layers.heap import resident_mb, rss_ceiling

    with rss_ceiling(resident_mb() + HELPER_BASE_MB + 16):
        assert not use_helper(HELPER_MIN_CELLS, share)
    with rss_ceiling(resident_mb() + HELPER_BASE_MB + 400):
        assert use_helper(HELPER_MIN_CELLS, share) is two_cores
    # largest zone first, each to the lighter side; the helper gets the smaller half
    assert split_zones([7]) == ([0], [])  # one zone: no helper is started for nothing
    assert split_zones([5, 1, 1, 1, 1, 1]) == ([0], [1, 2, 3, 4, 5])
    assert split_zones([1, 4, 3, 2]) == ([0, 1], [2, 3])


def test_no_helper_where_python_is_embedded(monkeypatch):
    # inside QGIS or ArcGIS Pro sys.executable may be the application: it is never started
    # as a helper (multiprocessing's executable, which such applications set, is asked first)
    import multiprocessing.spawn

    import sxplan.layers._zone_extract as zx

    monkeypatch.setattr(multiprocessing.spawn, "get_executable", lambda: "/opt/qgis/bin/qgis")
    assert zx._python() is None
    assert not zx.use_helper(zx.HELPER_MIN_CELLS, 480 * 2**20)
    monkeypatch.setattr(multiprocessing.spawn, "get_executable", lambda: b"/usr/bin/python3.11")
    assert zx._python() == "/usr/bin/python3.11"
