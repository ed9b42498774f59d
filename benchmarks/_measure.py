"""Run one benchmark step in a fresh child process and measure it.

Standard library only, so every benchmark driver can import it, whichever virtualenv it runs
in (the project's, atlite's, InVEST's). The child prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    """Run ``cmd``; return (its last-line JSON, wall seconds, peak RSS MB of that child).

    The JSON gains ``cpu_s``, the child's user + system CPU seconds (less sensitive than the
    wall time to other work on a shared machine). Peak RSS is the child's own ``ru_maxrss``
    (``os.wait4``; KiB on Linux), imports included.
    """
    import time

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {code}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return figures, wall, usage.ru_maxrss / 1024.0
