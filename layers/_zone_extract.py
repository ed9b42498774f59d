"""exactextract's coverage of zones, computed in this process and, for large grids, a helper.

:func:`sxplan.layers.zonal.zone_cover` asks exactextract for the coverage of every cell of every
zone. exactextract holds the GIL while it computes (a thread beside it ran at 8 % of its speed,
``benchmarks/README.md``, s27), so a second core can only be used by a second process: this
module splits the zones between this process and one helper process
(``python -m sxplan.layers._zone_extract``), each running exactextract on its share, and
joins their pieces in one fixed order, so the cover is the same bit for bit whoever computed
which zone (tested).

The helper is a plain subprocess fed by a pipe, not ``multiprocessing``: it does not import
the caller's ``__main__`` (a user's script without an ``if __name__ == "__main__"`` guard
works). If it cannot start or fails, this process computes its zones too (the same cover,
only slower) and says so in a :class:`RuntimeWarning`.

Inputs: GeoJSON-like zone features, extraction jobs (a window of the grid and the zones done
in it), the grid's width. Outputs: pieces of runs and boundary cells, in zone order.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from .heap import headroom_mb, note_helper_peak, release_free_memory

__all__: list[str] = []

#: Resident memory of the helper before it computes (Python, NumPy, exactextract and this
#: module): 51-56 MB measured (2026-12-02, ``ru_maxrss`` after the imports); set aside from its
#: share of the budget.
HELPER_BASE_MB = 64

#: Bounding-box cells below which no helper is started. The helper costs about 0.3 s to start
#: (Python and its imports) and exactextract about 38 ns a bounding-box cell at 30 m on this
#: machine (10.4 s for 272 M, 2026-12-02), so half of 16 M cells pays for it; twice that is
#: asked, for slower disks and machines.
HELPER_MIN_CELLS = 32_000_000

#: Python that runs the helper (None: :func:`_python`); a test points it at a missing file.
_HELPER_PYTHON: str | None = None


def _python() -> str | None:
    """The Python interpreter to start the helper with, or None where there is none.

    ``multiprocessing``'s (what an embedding application sets with ``set_executable``), else
    ``sys.executable``, if its name is a Python's: inside an application that embeds Python
    (QGIS's console, ArcGIS Pro's) ``sys.executable`` may be the application itself, which
    must not be started again.

    Examples
    --------
    >>> _python() is None or "python" in _python().lower()
    True
    """
    if _HELPER_PYTHON is not None:
        return _HELPER_PYTHON
    from multiprocessing import spawn

    exe = os.fsdecode(spawn.get_executable() or sys.executable or "")  # bytes on some versions
    return exe if os.path.basename(exe).lower().startswith("python") else None


def helper_bytes(share_bytes: float) -> float:
    """Bytes the helper may compute with, out of the tile share ``share_bytes`` of a budget.

    Half the share, and no more than the room left below the run's heap ceiling
    (:func:`sxplan.layers.heap.headroom_mb`, half the budget, where a run sets one): a process
    already holding most of its budget (the sinks step of a whole ``sxplan`` run, after
    siting) gets no room for a helper. Less the helper's own imports
    (:data:`HELPER_BASE_MB`).
    """
    room = share_bytes / 2
    head = headroom_mb()
    if head is not None:
        room = min(room, head * 2**20)
    return room - HELPER_BASE_MB * 2**20


def use_helper(cells: int, share_bytes: float, held_bytes: float = 0.0) -> bool:
    """Whether to split ``cells`` bounding-box cells with a helper, within ``share_bytes``.

    Yes when the machine has a second core, the zones are large enough to pay for starting
    it (:data:`HELPER_MIN_CELLS`), the helper has 32 MB or more to compute with
    (:func:`helper_bytes`) besides the ``held_bytes`` of pieces it keeps until it sends them
    (:func:`piece_bytes` of its zones) and there is a Python to start (:func:`_python`).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or cells < HELPER_MIN_CELLS or _python() is None:
        return False
    # the room is what is live: a sxplan sinks run at 30 m held 376 MB after its layers step,
    # 256 once the heap's free pages were given back (2026-12-02)
    release_free_memory()
    return helper_bytes(share_bytes) - held_bytes >= 32 * 2**20


def piece_bytes(height: int, width: int, piece_cols: int) -> int:
    """A generous estimate of the bytes of one zone's pieces, from its bounding box.

    16 bytes per run (each row of the box cut into ``piece_cols``-column pieces, plus two) and
    20 per boundary entry (four times the box's half perimeter). Against the pieces found
    (2026-12-02): 1.56x the runs and 2.00x the entries on the 30 m province (117 counties:
    1.34 M and 1.43 M estimated, 48 MB), 1.56x and 2.01x on China at 90 m (2,800 counties:
    10.7 M and 18.2 M against 6.87 M and 9.08 M, ``benchmarks/README.md`` s23; 510 MB, so
    no helper there within a 1,024 MB budget).

    Examples
    --------
    >>> piece_bytes(10, 600, 256)  # 10 rows of 4 pieces, 4 x 610 boundary cells
    49440
    """
    runs = height * (width // max(1, piece_cols) + 2)
    return 16 * runs + 20 * 4 * (height + width)


def split_zones(cells: list[int]) -> tuple[list[int], list[int]]:
    """Zones for this process and for the helper, about half the ``cells`` each.

    Largest first, each to the side with fewer cells so far; the helper starts later (its
    imports), so it takes the smaller half. Both lists in zone order.
    """
    mine, theirs, n_mine, n_theirs = [], [], 0, 0
    for k in sorted(range(len(cells)), key=lambda i: -cells[i]):
        if n_theirs < n_mine:
            theirs.append(k)
            n_theirs += cells[k]
        else:
            mine.append(k)
            n_mine += cells[k]
    return sorted(mine), sorted(theirs)


def extract(features: list[dict], srs_wkt: str | None, grid: dict, jobs: list[dict]) -> list:
    """Run exactextract over ``jobs``; return the pieces (see :func:`_collector`).

    ``grid`` holds ``res``, ``width``, ``n_cells`` and ``srs_wkt`` of the grid and
    ``piece_cols`` (runs are also cut at multiples of it); each job holds ``window`` (its
    first column and row), ``extent`` (xmin, ymin, xmax, ymax), ``zones`` (indices into
    ``features``), ``band`` (its place among a zone's bands of rows) and ``max_cells``.
    """
    from exactextract import exact_extract
    from exactextract.feature import JSONFeatureSource

    collector = _collector(int(grid["width"]), int(grid["piece_cols"]))
    for job in jobs:
        collector.band = int(job["band"])
        exact_extract(
            _cell_numbers(grid, job),
            JSONFeatureSource([features[k] for k in job["zones"]], srs_wkt=srs_wkt),
            ["values", "coverage"],
            include_cols=["zone"],
            output=collector,
            max_cells_in_memory=int(job["max_cells"]),
        )
    return collector.pieces


def extract_with_helper(features, srs_wkt, grid, mine, theirs) -> list:
    """:func:`extract` over ``mine`` here and ``theirs`` in a helper process at the same time.

    Falls back to computing ``theirs`` here (with a :class:`RuntimeWarning`) if the helper
    cannot start or fails; an error of this process's own share stops the helper.
    """
    request = pickle.dumps((features, srs_wkt, grid, theirs), protocol=pickle.HIGHEST_PROTOCOL)
    proc, err = None, tempfile.TemporaryFile()
    try:
        try:
            python = _python()
            if python is None:
                raise OSError("no Python interpreter to start (this process embeds Python)")
            proc = subprocess.Popen(
                [python, "-m", "sxplan.layers._zone_extract"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            _FdWriter(proc.stdin.fileno()).write(request)  # whole, even if a signal cuts a write
            proc.stdin.close()
        except OSError as exc:
            why = f"it could not start ({exc})"
        del request
        pieces = extract(features, srs_wkt, grid, mine)
        if proc is not None:
            try:
                theirs_pieces, peak = pickle.load(proc.stdout)
                if _ended(proc) == 0:
                    note_helper_peak(peak)  # with this process's peak by now
                    return pieces + theirs_pieces
                why = f"it exited with code {proc.returncode}"
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                # its answer is unreadable: a helper still writing it would block on the
                # full pipe for ever while this process waited for it to exit (seen under a
                # profiler, s32), so the pipe is closed before the wait, and it is killed if
                # it has not ended within the grace
                _ended(proc)
                why = (
                    f"its answer could not be read ({type(exc).__name__}: {exc}; "
                    f"exit code {proc.returncode})"
                )
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace").strip()
            why += f": {tail.splitlines()[-1]}" if tail else ""
        warnings.warn(
            f"the county cover's helper process failed ({why}); its {len(theirs)} "
            "extraction(s) are done in this process instead (the same cover, slower)",
            RuntimeWarning,
            stacklevel=3,
        )
        return pieces + extract(features, srs_wkt, grid, theirs)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()


def _cell_numbers(grid: dict, job: dict):
    """An exactextract raster source over a job's window whose values are the cell numbers."""
    from exactextract.raster import RasterSource

    col_off, row_off = job["window"]
    width, res, extent = int(grid["width"]), float(grid["res"]), tuple(job["extent"])
    # uint32 holds the cell numbers of grids up to 4.29 G cells
    dtype = np.uint32 if int(grid["n_cells"]) < 2**32 else np.int64

    class CellNumbers(RasterSource):
        def __init__(self):
            super().__init__()
            self.set_name("cell")

        def res(self):
            return (res, res)

        def extent(self):
            return extent

        def srs_wkt(self):
            return grid["srs_wkt"]

        def nodata_value(self):
            return None

        def read_window(self, x0, y0, nx, ny):
            y0, x0 = y0 + row_off, x0 + col_off
            rows = np.arange(y0, y0 + ny, dtype=dtype)[:, None] * dtype(width)
            return rows + np.arange(x0, x0 + nx, dtype=dtype)[None, :]

    return CellNumbers()


def _collector(width: int, piece_cols: int):
    """An exactextract writer keeping each zone's coverage-1 runs and boundary cells.

    Its ``pieces`` are one tuple per zone and band of rows: ``((zone, band), runs, edges,
    full)``, runs the row, start, end and zone arrays (int32), edges the cell (int64), zone
    (int32) and coverage (float64) arrays of the boundary cells, full the count of cells of
    coverage 1. :func:`sxplan.layers.zonal.zone_cover` joins them sorted by ``(zone, band)``.
    """
    from exactextract.feature import JSONFeature
    from exactextract.writer import Writer

    class Collector(Writer):
        def __init__(self):
            super().__init__()
            self.pieces: list[tuple] = []
            self.band = 0

        def write(self, feature):
            f = JSONFeature()
            feature.copy_to(f)
            props = f.feature["properties"]
            k = int(props["zone"])
            cells = np.asarray(props["values"], dtype="int64")
            cov = np.asarray(props["coverage"], dtype="float64")
            full = cov == 1.0
            part = ~full & (cov > 0)  # the boundary table is sorted once, at the end
            edges = (cells[part], np.full(int(part.sum()), k, "int32"), cov[part])
            ids = cells[full]
            runs = tuple(a.astype("int32", copy=False) for a in _runs_of(ids, width, k, piece_cols))
            self.pieces.append(((k, self.band), runs, edges, int(ids.size)))
            # exactextract's per-zone arrays leave the heap in holes; every 64 zones is chosen,
            # not tuned (China 90 m, 2,800 counties: some 44 calls, cover peak 1,134 -> 719 MB
            # with the joins in zonal.py, benchmarks/README.md)
            if len(self.pieces) % 64 == 0:
                release_free_memory()

        def features(self):
            return None

    return Collector()


def _runs_of(ids: np.ndarray, width: int, k: int, piece: int) -> tuple[np.ndarray, ...]:
    """Runs of consecutive cells: row, start, end, zone.

    No run crosses a row end or a column that is a multiple of ``piece``.
    """
    if ids.size == 0:
        return tuple(np.zeros(0, "int64") for _ in range(3)) + (np.zeros(0, "int32"),)
    step = np.diff(ids)
    if (step <= 0).any():  # exactextract gives cells in row order; sort if it ever does not
        ids = np.unique(ids)
        step = np.diff(ids)
    brk = np.flatnonzero(step != 1) + 1
    first = ids[np.r_[0, brk]]
    last = ids[np.r_[brk - 1, ids.size - 1]]
    row, last_row = first // width, last // width
    across = np.flatnonzero(row != last_row)  # runs over whole rows: cut at each row start
    if across.size:
        pieces = [np.arange(row[i], last_row[i] + 1) for i in across]
        extra_first = np.concatenate(
            [np.maximum(r * width, first[i]) for i, r in zip(across, pieces, strict=True)]
        )
        extra_last = np.concatenate(
            [
                np.minimum(r * width + width - 1, last[i])
                for i, r in zip(across, pieces, strict=True)
            ]
        )
        keep = row == last_row
        first = np.concatenate([first[keep], extra_first])
        last = np.concatenate([last[keep], extra_last])
        order = np.argsort(first, kind="stable")
        first, last = first[order], last[order]
        row = first // width
    start, end = first - row * width, last - row * width + 1
    p0 = start // piece
    n = (end - 1) // piece - p0 + 1
    if (n > 1).any():  # cut at multiples of `piece` columns
        rep = np.repeat(np.arange(start.size), n)
        block = p0[rep] + np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
        row = row[rep]
        start = np.maximum(start[rep], block * piece)
        end = np.minimum(end[rep], (block + 1) * piece)
    return row, start, end, np.full(row.size, k, "int32")


#: Seconds a helper is given to exit once its pipe is closed, before it is killed. Chosen,
#: not tuned: after its answer the helper exited in 0.03-0.06 s (30 m benchmark counties,
#: three covers, s32), so 10 s only ever cuts short a helper that is stuck.
_EXIT_GRACE_S = 10.0


def _ended(proc: subprocess.Popen) -> int:
    """Close the helper's pipe, wait for it to exit (killed after the grace); its exit code.

    A helper still writing to the closed pipe gets a broken pipe and exits, so neither
    process waits on the other.
    """
    proc.stdout.close()
    try:
        return proc.wait(timeout=_EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _own_peak_mb() -> float:
    """The peak resident set of the running process in MB (``/proc/self/status``; 0 if absent).

    Not ``ru_maxrss``, which a process started with ``vfork`` (as :mod:`subprocess` does)
    inherits from its parent.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class _FdWriter:
    """A file for :func:`pickle.dump` whose ``write`` loops ``os.write`` until all is written.

    Not ``sys.stdout.buffer``: a pipe write interrupted by a signal (a stop and continue, as
    a profiler attaching sends) is partial, and through ``pickle.dump`` into the buffered
    stream the answer then reached the parent corrupted ("invalid load key"): 5 of 5 trials
    under a storm of stops and continues (CPython 3.11, s32), 0 of 5 with this writer
    (tested in ``tests/layers/test_zonal.py``).
    """

    def __init__(self, fd: int):
        self.fd = fd

    def write(self, data) -> int:
        view = memoryview(data).cast("B")  # bytes, or a PickleBuffer of an array
        n = view.nbytes
        while view:
            view = view[os.write(self.fd, view) :]
        return n


def main() -> int:
    """The helper: read a pickled request on stdin, write the pickled pieces on stdout."""
    features, srs_wkt, grid, jobs = pickle.load(sys.stdin.buffer)
    pieces = extract(features, srs_wkt, grid, jobs)
    del features
    answer = (pieces, _own_peak_mb())
    pickle.dump(answer, _FdWriter(sys.stdout.fileno()), protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
