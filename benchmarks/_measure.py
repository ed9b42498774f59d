"""Run one benchmark step in a fresh child process and measure it.

Standard library only, so every benchmark driver can import it, whichever virtualenv it runs
in (the project's, atlite's, InVEST's). The child prints one JSON object as its last line.

:func:`run_sampled` also samples the child's resident set while it runs (Linux:
``/proc/<pid>/statm``), and :func:`peaks_by_step` places those samples in the steps the child
timed, so a benchmark can say in which step its peak fell, not only how high it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run ``cmd``; return (its last-line JSON, wall seconds, peak RSS MB of that child).

    The JSON gains ``cpu_s``, the child's user + system CPU seconds (less sensitive than the
    wall time to other work on a shared machine). Peak RSS is the child's own ``ru_maxrss``
    (``os.wait4``; KiB on Linux), imports included.
    """
    figures, wall, rss, _ = run_sampled(cmd, env, every_s=None)
    return figures, wall, rss


def run_sampled(
    cmd: list[str], env: dict | None = None, every_s: float | None = 0.1
) -> tuple[dict, float, float, list[tuple[float, float]]]:
    """:func:`run_measured`, plus the child's resident set sampled every ``every_s`` seconds.

    Returns (JSON, wall seconds, peak RSS MB, samples). Each sample is ``(time.monotonic(),
    MiB resident)``; ``time.monotonic`` is one clock for every process of the machine
    (``CLOCK_MONOTONIC`` on Linux), so the child can state when its steps ran in the same
    time. No samples where ``/proc`` is missing (not Linux) or with ``every_s=None``. The
    samples see the resident set between two reads only: a peak shorter than ``every_s`` can
    fall between them, so their maximum is at most ``ru_maxrss`` and may be below it.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    sampler = None
    if every_s is not None:
        sampler = threading.Thread(
            target=_sample_rss, args=(proc.pid, every_s, samples, done), daemon=True
        )
        sampler.start()
    out = proc.stdout.read()
    # stop sampling before the child is reaped: until os.wait4 its pid cannot be given to
    # another process, so no sample can come from one
    done.set()
    if sampler is not None:
        sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {code}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return figures, wall, usage.ru_maxrss / 1024.0, samples


def _sample_rss(pid: int, every_s: float, samples: list, done: threading.Event) -> None:
    """Append ``(time.monotonic(), resident MiB)`` of ``pid`` every ``every_s`` until ``done``.

    Read here rather than with :func:`sxplan.layers.heap.resident_mb`, which reads this
    process's own set and is not importable from the other benchmarks' virtualenvs.
    """
    page_mib = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    path = f"/proc/{pid}/statm"
    while not done.is_set():
        try:
            with open(path, encoding="ascii") as f:
                resident = int(f.read().split()[1])
        except (OSError, ValueError, IndexError):  # no /proc, or the child has exited
            return
        if resident:  # a reaped or zombie child reads 0
            samples.append((time.monotonic(), resident * page_mib))
        done.wait(every_s)


def peaks_by_step(
    samples: list[tuple[float, float]], steps: list[tuple[str, float]], end: float
) -> dict[str, float | None]:
    """The highest sample in each of the child's timed steps (MiB, one decimal).

    ``steps`` are ``(name, seconds)`` in the order they ran, laid end to end back from
    ``end`` (``time.monotonic()`` when the last one ended): a step's window is
    ``[end - seconds of it and every later step, end - seconds of every later step)``.
    Samples before the first step go to ``"before"`` (interpreter start, imports, loading),
    samples after ``end`` to ``"after"``. A step no sample fell in gets ``None``.

    Examples
    --------
    >>> s = [(0.0, 100.0), (1.0, 250.0), (2.0, 300.0), (2.5, 280.0), (3.5, 120.0)]
    >>> peaks_by_step(s, [("a", 1.5), ("b", 1.0), ("c", 0.1)], end=3.0)
    {'before': 100.0, 'a': 250.0, 'b': 300.0, 'c': None, 'after': 120.0}
    """
    bounds = []
    t = end
    for name, seconds in reversed(steps):
        bounds.append((name, t - seconds, t))
        t -= seconds
    bounds.reverse()
    peaks: dict[str, float | None] = {"before": None, **{n: None for n, _ in steps}}
    peaks["after"] = None

    def put(key, mb):
        peaks[key] = mb if peaks[key] is None else max(peaks[key], mb)

    for when, mb in samples:
        mb = round(mb, 1)
        if when < t:
            put("before", mb)
        elif when >= end:
            put("after", mb)
        else:
            put(next(n for n, b0, b1 in bounds if b0 <= when < b1), mb)
    return peaks
