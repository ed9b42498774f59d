"""``run_fetch``: the order of steps of ``sxplan data fetch``.

1. resolve the area (and its box with margin); check the destination is ours to write;
2. fetch each requested layer (from --from-dir, the cache, or the web; see ``_fetchers``);
3. write ``boundaries.gpkg``; clip the embedded demo layers for every role not fetched;
4. write ``project.yaml`` (when every core role has data), ``sources.md``, ``missing.md``
   (when something is missing) and ``fetch.json`` (what was asked and what came).

Nothing outside the destination folder is written (the cache defaults to ``DEST/cache``);
every file is written atomically.

Inputs: area text, layer names, folders. Outputs: files in DEST; a :class:`FetchReport`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sxplan.errors import ConfigError, OutputExistsError
from sxplan.layers.atomic import write_text

from ._fallbacks import demo_fallbacks, ghi_range
from ._fetchers import FetchContext, fetcher_for
from .area import resolve_area
from .catalog import LAYER_NAMES, load_catalog, mirror_from_env, source_for_layer
from .download import DownloadPolicy
from .outputs import missing_text, sources_md
from .project_yaml import CORE_ROLES, project_yaml

__all__ = ["FetchReport", "run_fetch"]

MARKER = "fetch.json"


@dataclass
class FetchReport:
    """Result of a fetch: per-layer results and the files written."""

    results: list
    written: list[Path] = field(default_factory=list)
    project: Path | None = None
    missing_md: Path | None = None

    @property
    def missing(self) -> list:
        """Results of layers that could not be fetched."""
        return [r for r in self.results if not r.ok]


def _check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise OutputExistsError(f"--dest {dest}: is a file; give a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).exists():
        raise OutputExistsError(
            f"--dest {dest}: not empty and not written by `sxplan data fetch` (no {MARKER}); "
            "give an empty or new folder (fetch writes only inside it)"
        )


def run_fetch(
    area: str,
    layers: list[str],
    dest: Path,
    *,
    from_dir: Path | None = None,
    cache: Path | None = None,
    mirror: str | None = None,
    margin_m: float = 5000.0,
    datum: str = "wgs84",
    policy: DownloadPolicy | None = None,
    command: str = "sxplan data fetch ...",
    log=print,
) -> FetchReport:
    """Fetch ``layers`` for ``area`` into ``dest``; see the module docstring for the steps.

    Parameters
    ----------
    area : str
        ``shanxi``, a Shanxi county adcode, or a vector file.
    layers : list of str
        Names from :data:`~sxplan.fetch.catalog.LAYER_NAMES`.
    dest : pathlib.Path
        Destination folder (new, empty, or written by an earlier fetch).
    from_dir : pathlib.Path, optional
        Folder of hand-downloaded files, used before the cache and the web.
    cache : pathlib.Path, optional
        Download cache (default ``dest/cache``).
    mirror : str, optional
        Base URL replacing every publisher (default ``$SXPLAN_FETCH_MIRROR``).
    margin_m : float
        Margin around the area, metres.
    datum : {"wgs84", "gcj02"}
        Datum of a user area file.
    policy : DownloadPolicy, optional
        Retries, backoff, timeout, progress bars.
    command : str
        The command line, repeated in the offline instructions.
    log : callable
        Receives progress lines.

    Returns
    -------
    FetchReport
    """
    unknown = [n for n in layers if n not in LAYER_NAMES]
    if unknown or not layers:
        raise ConfigError(
            f"--layers: unknown {unknown or 'empty list'}; use a comma-separated list of "
            f"{', '.join(LAYER_NAMES)}"
        )
    if from_dir is not None and not Path(from_dir).is_dir():
        raise ConfigError(f"--from-dir {from_dir}: no such folder")
    dest = Path(dest)
    _check_dest(dest)
    study = resolve_area(area, margin_m, datum)
    dest.mkdir(parents=True, exist_ok=True)
    if not (dest / MARKER).exists():  # claim the folder first, so a crashed run can be resumed
        write_text(dest / MARKER, json.dumps({"area": study.name, "status": "running"}))
    catalog = load_catalog()
    ctx = FetchContext(study, dest, Path(cache) if cache else dest / "cache",
                       Path(from_dir) if from_dir else None, mirror_from_env(mirror),
                       policy or DownloadPolicy(), log)  # fmt: skip
    report = FetchReport([])
    for name in [n for n in LAYER_NAMES if n in layers]:
        src = source_for_layer(catalog, name)
        log(f"{name}: {src['title']}")
        res = fetcher_for(src)(src, ctx)
        report.results.append(res)
        log(f"  -> {'ok' if res.ok else 'MISSING'}")
    return _write_outputs(report, study, ctx, command)


def _write_outputs(report: FetchReport, study, ctx: FetchContext, command: str) -> FetchReport:
    from sxplan.layers.io import write_gpkg_layers

    dest = ctx.dest
    frames = {"study_area": study.area, "counties": study.counties}
    if study.prefectures is not None:
        frames["prefectures"] = study.prefectures
    report.written.append(write_gpkg_layers(frames, dest / "boundaries.gpkg"))
    fetched = {}
    for r in report.results:
        if r.ok:
            fetched.update({k: v for k, v in r.outputs.items() if v is not None})
    roles, fallbacks, notes = demo_fallbacks(fetched, study, dest, catalog_results=report.results)
    notes += [f"{r.layer}: {n}" for r in report.results if r.ok for n in r.notes if "404" in n]
    report.written += [dest / spec["path"] for spec in roles.values()]
    lacking = [r for r in CORE_ROLES if r not in roles]
    if lacking:
        notes.append(f"NOT RUNNABLE: no data for {lacking}")
        log = ctx.log
        log(f"project.yaml not written: no data for {lacking} (not fetched, and the area lies "
            "outside the embedded demo data)")  # fmt: skip
        (dest / "project.yaml").unlink(missing_ok=True)
    else:
        gr = ghi_range(dest / roles["ghi"]["path"]) if roles["ghi"].get("fetched") else None
        text = project_yaml(roles, study, notes, ghi_range=gr)
        report.project = write_text(dest / "project.yaml", text)
        report.written.append(report.project)
    report.written.append(
        write_text(
            dest / "sources.md", sources_md(report.results, study, fallbacks, dest, ctx.mirror)
        )
    )
    if report.missing:
        report.missing_md = write_text(
            dest / "missing.md", missing_text(report.results, ctx.from_dir, command)
        )
        report.written.append(report.missing_md)
    else:
        (dest / "missing.md").unlink(missing_ok=True)
    marker = {
        "area": study.name,
        "kind": study.kind,
        "bounds": study.bounds,
        "layers": {r.layer: ("ok" if r.ok else "missing") for r in report.results},
        "files": sorted(p.relative_to(dest).as_posix() for p in report.written),
    }
    write_text(dest / MARKER, json.dumps(marker, ensure_ascii=False, indent=1))
    return report
