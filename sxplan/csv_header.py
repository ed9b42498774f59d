"""Header rows of the run folder's CSV tables: English names, Chinese labels, or both.

``project.csv_header`` (or ``--language`` on the command line) chooses:

- ``en`` (default): one row of the machine-stable column names (``capacity_mw``);
- ``zh+en``: that row, then a second row of Chinese labels (``装机容量(兆瓦)``), so a reader
  sees both and a script keeps the stable names;
- ``zh``: one row of Chinese labels.

Labels come from the run-folder catalog (``label_zh`` of each column); every variant is read
back by :func:`sxplan.schema.read_table` with the English names. Only the header lines are
rewritten, so the values stay byte for byte as their writer wrote them.

Inputs: a run folder. Outputs: its CSV tables with the chosen header, rewritten atomically.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from .schema import DATASETS

__all__ = ["CSV_HEADERS", "apply_csv_header"]

CSV_HEADERS = ("en", "zh+en", "zh")


def _row(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue().rstrip("\n")


def apply_csv_header(run_dir: str | os.PathLike, mode: str) -> list[Path]:
    """Rewrite the header of every catalogued CSV table in ``run_dir`` as ``mode`` asks.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder (the staging folder during a run).
    mode : {"en", "zh+en", "zh"}
        Header style.

    Returns
    -------
    list of pathlib.Path
        The files rewritten (none for ``en``).
    """
    from sxplan.layers.io import atomic_path

    if mode not in CSV_HEADERS:
        raise ValueError(f"csv_header must be one of {CSV_HEADERS}, got {mode!r}")
    if mode == "en":
        return []
    root = Path(run_dir)
    done = []
    for ds in DATASETS.values():
        if ds.kind != "csv":
            continue
        pattern = ds.path.replace("{tech}", "*").replace("{name}", "*")
        for path in sorted(root.glob(pattern)):
            raw = path.read_bytes()
            bom = raw.startswith(b"\xef\xbb\xbf")
            text = raw.decode("utf-8-sig")
            first, sep, rest = text.partition("\n")
            eol = "\r\n" if first.endswith("\r") else "\n"
            names = next(csv.reader([first.rstrip("\r")]))
            if not all(ds.known(n) for n in names):
                continue  # already rewritten, or not ours: leave it as it is
            labels = _row(ds.header_labels(names))
            header = labels if mode == "zh" else first.rstrip("\r") + eol + labels
            with atomic_path(path) as tmp:
                tmp.write_bytes(("\ufeff" if bom else "").encode() + (header + eol + rest).encode())
            done.append(path)
    return done
