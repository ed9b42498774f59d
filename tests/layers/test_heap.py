"""release_free_memory: freed heap pages go back to the operating system (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from sxplan.layers import heap
from sxplan.layers.budget import Budget
from sxplan.layers.heap import (
    _malloc_trim,
    release_free_memory,
    resident_mb,
    rss_ceiling,
    trim_free_heap,
)

GLIBC = _malloc_trim() is not None

# In a fresh interpreter: raise glibc's dynamic mmap threshold (free one 16 MiB array), then
# allocate forty 8 MiB arrays from the heap, free every other one (holes below live arrays,
# which the heap cannot give back from its top), and read the resident set from /proc before
# and after release_free_memory().
_CHILD = textwrap.dedent(
    """
    import numpy as np
    from sxplan.layers.heap import release_free_memory, rss_ceiling, trim_free_heap

    def _trim_within(ceiling_mb):
        with rss_ceiling(ceiling_mb):
            return trim_free_heap()

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    big = np.ones(16 * 2**20 // 8)
    del big
    arrays = [np.ones(2**20) for _ in range(40)]  # 8 MiB each, written (resident)
    for i in range(0, 40, 2):
        arrays[i] = None
    before = rss_mb()
    released = {call}
    after = rss_mb()
    print(before, after, released)
    """
)


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def _child(call: str) -> tuple[float, float, str]:
    code = _CHILD.replace("{call}", call)
    # glibc's defaults: a MALLOC_* variable (Dask sets MALLOC_TRIM_THRESHOLD_ for its workers,
    # and other tests of the suite start Dask) fixes the thresholds and leaves no holes
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return float(out[0]), float(out[1]), out[2]


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_freed_holes_in_the_heap_are_returned():
    before, after, released = _child("release_free_memory()")
    # twenty 8 MiB holes = 160 MiB held before, returned after (the live twenty stay)
    assert released == "True"
    assert before - after >= 150, (before, after)


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_trim_only_above_the_ceiling():
    # the child holds ~350 MB resident: a 10 GB ceiling keeps the holes, a 1 MB one returns them
    trim = "_trim_within({})"
    before, after, released = _child(trim.format(10_000))
    assert released == "False" and abs(before - after) < 20, (before, after)
    before, after, released = _child(trim.format(1))
    assert released == "True" and before - after >= 150, (before, after)


def test_ceiling_is_set_by_a_run_budget_and_restored():
    assert trim_free_heap() is False  # no run, no ceiling: nothing is trimmed
    with Budget(1024).run_env():
        from sxplan.layers import heap

        assert heap._CEILING_MB == 512.0
        with rss_ceiling(None):
            assert heap._CEILING_MB is None
        assert heap._CEILING_MB == 512.0
    assert heap._CEILING_MB is None
    rss = resident_mb()
    assert rss is None or 10 < rss < 24 * 1024


def test_release_is_harmless_anywhere():
    import numpy as np

    a = np.arange(1_000_000, dtype="float64")
    release_free_memory()
    release_free_memory()
    assert a.sum() == 999_999 * 1_000_000 / 2  # live memory untouched
    assert isinstance(release_free_memory(), bool)


def test_trims_wait_for_regrowth_while_live_data_exceed_the_ceiling(monkeypatch):
    # resident sets scripted (before a trim, after it): a trim that leaves the set above the
    # 100 MB ceiling makes the next wait for 12.5 MB (REGROW_SHARE) of regrowth
    from sxplan.layers import heap

    script = iter([150, 140, 145, 155, 150, 90, 105, 95, 106, 96])
    trims = []
    monkeypatch.setattr(heap, "resident_mb", lambda: next(script))
    monkeypatch.setattr(heap, "release_free_memory", lambda: trims.append(1) or True)
    assert heap.REGROW_SHARE == 0.125
    with rss_ceiling(100):
        got = [trim_free_heap() for _ in range(6)]
    # 150: trim (left 140) | 145 <= 152.5: wait | 155: trim (left 150) | 90: under, reset |
    # 105: trim (left 95, under) | 106: trim
    assert got == [True, False, True, False, True, True] and len(trims) == 4
    assert heap._FLOOR_MB is None  # not carried out of the block


@pytest.mark.skipif(resident_mb() is None, reason="no /proc/self/statm")
def test_copies_run_two_at_once_only_with_room_for_two_under_the_ceiling():
    """Two copies need 2 x 40 = 80 MiB below the ceiling (COPY_MB), whatever the raster's
    width; with 100 MiB of room there are two, with 60 one, above the ceiling one, without a
    ceiling two."""
    from sxplan.layers.budget import COPY_MB
    from sxplan.layers.heap import headroom_mb

    assert COPY_MB == 40
    assert headroom_mb() is None and Budget.copies_at_once() == 2
    rss = resident_mb()
    with rss_ceiling(rss + 100):
        assert 90 < headroom_mb() <= 100
        assert Budget.copies_at_once() == 2
    with rss_ceiling(rss + 60):
        assert Budget.copies_at_once() == 1
    with rss_ceiling(max(1.0, rss - 100)):
        assert headroom_mb() < 0 and Budget.copies_at_once() == 1


# In a fresh interpreter, within a run's bounds (a ceiling far above, an allowance of 50 MB):
# the first call trims (24 MiB of holes) to measure what the process holds besides the heap;
# then 160 MiB of
# holes (twenty freed 8 MiB arrays between live ones) are more than the allowance and go back;
# 16 MiB of holes are not, and stay.
_CHILD_HELD = textwrap.dedent(
    """
    import numpy as np
    from sxplan.layers.heap import heap_in_use_mb, resident_mb, rss_ceiling, trim_free_heap

    big = np.ones(16 * 2**20 // 8)
    del big
    early = [np.ones(2**20) for _ in range(6)]
    early[0] = early[2] = early[4] = None
    with rss_ceiling(100_000, held_mb=50):
        first = trim_free_heap()
        arrays = [np.ones(2**20) for _ in range(40)]
        used = heap_in_use_mb()
        for i in range(0, 40, 2):
            arrays[i] = None
        freed = used - heap_in_use_mb()
        before = resident_mb()
        many = trim_free_heap()
        after = resident_mb()
        for i in range(1, 5, 2):
            arrays[i] = None
        few = trim_free_heap()
        kept = resident_mb()
    print(first, freed, before, after, many, few, kept)
    """
)


@pytest.mark.skipif(heap._mallinfo2() is None, reason="mallinfo2 is glibc 2.33+'s")
def test_freed_memory_beyond_the_allowance_goes_back_and_within_it_stays():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_HELD], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    first, freed, before, after, many, few, kept = out
    assert first == "True"  # nothing measured yet: trimmed to measure
    assert 159 <= float(freed) <= 161  # heap_in_use_mb saw the twenty 8 MiB arrays go
    assert many == "True" and float(before) - float(after) >= 150, (before, after)
    assert few == "False" and abs(float(kept) - float(after)) < 20, (after, kept)


def test_allowance_measured_from_what_the_heap_holds_in_use(monkeypatch):
    # (resident set, heap in use) scripted for each reading; the allowance is 50 MB, so the
    # heap is measured again once the resident set has grown 6.25 MB (RECHECK_SHARE)
    # call 1: trims to measure (after: 300 - 100 = 200 beside the heap)
    # call 2: 303 < 300 + 6.25: not measured
    # call 3: 380 - 150 - 200 = 30 held <= 50: kept
    # call 4: 420 - 150 - 200 = 70 held > 50: trimmed (after: 340 - 150 = 190 beside)
    # call 5: 330, the lowest since: not measured; call 6: 335 < 330 + 6.25: not measured
    # call 7: 340 >= 330 + 6.25 (growth counts from the lowest, 330, not from 340): measured;
    #   340 - 175 = 165 < 190: what is beside shrank, measured again; no trim
    # call 8: 420 - 180 - 165 = 75 > 50: trimmed (counted from 340, call 7 would not be
    #   measured and call 8 would find 420 - 180 - 190 = 50 held: no trim)
    readings = iter(
        [(400, 100), (300, 100), (303, 100), (380, 150), (420, 150), (340, 150), (330, 150),
         (335, 120), (340, 175), (420, 180), (380, 180)]
    )  # fmt: skip
    now = [None]
    measured = []

    def read():
        now[0] = next(readings)
        return now[0][0]

    trims = []
    monkeypatch.setattr(heap, "resident_mb", read)
    monkeypatch.setattr(heap, "heap_in_use_mb", lambda: measured.append(1) or now[0][1])
    monkeypatch.setattr(heap, "_mallinfo2", lambda: object())
    monkeypatch.setattr(heap, "release_free_memory", lambda: trims.append(1) or True)
    with rss_ceiling(100, held_mb=50):  # the ceiling is not the rule here: 400 > 100
        got = [trim_free_heap() for _ in range(8)]
        assert heap._BESIDE_MB == 200
    assert got == [True, False, False, True, False, False, False, True] and len(trims) == 3
    assert len(measured) == 8  # not at calls 2, 5 and 6 (11 readings of the heap without it)
    assert heap._BESIDE_MB is None and heap._HELD_MB is None  # not carried out of the block
    assert heap._CHECKED_MB is None


def test_without_mallinfo2_the_ceiling_rule_applies(monkeypatch):
    # an older glibc: the allowance cannot be measured, so the resident set is held to the
    # ceiling as before (150 > 100: trimmed; 90: under it)
    script = iter([150, 90, 90])
    trims = []
    monkeypatch.setattr(heap, "resident_mb", lambda: next(script))
    monkeypatch.setattr(heap, "_mallinfo2", lambda: None)
    monkeypatch.setattr(heap, "release_free_memory", lambda: trims.append(1) or True)
    with rss_ceiling(100, held_mb=50):
        assert [trim_free_heap(), trim_free_heap()] == [True, False]
    assert len(trims) == 1


def test_a_run_budget_sets_the_allowance():
    with Budget(1024).run_env():
        assert (heap._CEILING_MB, heap._HELD_MB) == (512.0, 32.0)
    assert heap._HELD_MB is None
