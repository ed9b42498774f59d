"""Build the interactive maps of a run folder: ``maps/siting.html`` and ``maps/sinks.html``.

:func:`run_maps` is the only place the order of the map steps is written down. It reads only
files of a run folder, and only through the run-folder contract :mod:`sxplan.schema` (dataset
keys and the exact column names it defines), so ``sxplan map RUN_DIR`` rebuilds the maps of an
earlier run, and a folder that lacks a file or column the maps use is refused with a
:class:`~sxplan.errors.RunFolderError` naming it.

Inputs: ``RUN_DIR/layers/vectors.gpkg``, ``RUN_DIR/siting/*``, ``RUN_DIR/sinks/*`` (schema keys
``layers.*``, ``siting.*``, ``roadside.*``, ``sinks.*``).
Outputs: ``OUT_DIR/siting.html`` and/or ``OUT_DIR/sinks.html`` (written atomically).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from sxplan.errors import ConfigError, LayerIOError
from sxplan.layers.atomic import write_text
from sxplan.maps.config import MapsConfig
from sxplan.schema import dataset, read_json

__all__ = ["MAP_NAMES", "run_maps", "run_maps_config"]

MAP_NAMES: tuple[str, ...] = ("siting", "sinks")
#: A dataset each map needs, by map: its stage folder tells whether the map can be built.
_MAP_INPUT = {"siting": "siting.bases", "sinks": "sinks.counties_gpkg"}


def run_maps(
    run_dir: str | os.PathLike,
    *,
    out_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    language: str | None = None,
    basemap: str | None = None,
    tianditu_key: str | None = None,
    which: Sequence[str] | None = None,
    config: MapsConfig | None = None,
) -> dict[str, Path]:
    """Write the siting and sinks maps of a run folder.

    Parameters
    ----------
    run_dir : str or os.PathLike
        Run folder written by ``sxplan demo`` (or by the siting/sinks stages).
    out_dir : str or os.PathLike, optional
        Where to write the HTML; default ``run_dir/maps``.
    offline : bool, optional
        True: the pages load nothing from any network (Leaflet inlined, no tiles).
        False: OpenStreetMap, Tianditu (with a key) or Amap base maps are offered.
        Default: ``config.offline`` (True without a config).
    language : {"zh+en", "zh", "en"}, optional
        Labels and popups: Chinese first then English, or one language. Default:
        ``config.language`` ("zh+en" without a config).
    basemap : {"osm", "tianditu", "amap"}, optional
        Online base map shown on open. ``"amap"`` (GCJ-02) shifts every overlay from WGS84 to
        GCJ-02 and is then the only base map offered. Default: ``config.basemap``.
    tianditu_key : str, optional
        Tianditu key; default ``config.tianditu_key``, else the ``TIANDITU_KEY`` environment
        variable.
    which : sequence of {"siting", "sinks"}, optional
        Maps to build. Default: each map whose stage folder (``siting/``, ``sinks/``) exists;
        a map asked for by name whose inputs are missing raises.
    config : MapsConfig, optional
        The settings (a ``maps:`` section: language, base map, simplification, raster size,
        ...); the keyword arguments above that are given replace its values. Default: the
        ``maps:`` section the run was made with, from ``RUN_DIR/run.json``
        (:func:`run_maps_config`), or the defaults for a folder without ``run.json``.

    Returns
    -------
    dict
        Map name -> path of the written HTML file.

    Raises
    ------
    LayerIOError
        If the run folder or a required input file is missing
        (:class:`~sxplan.errors.RunFolderError` when a file, layer or column of the run
        folder is missing).
    ConfigError
        If an option is invalid.

    Examples
    --------
    After ``sxplan demo --out sxplan-demo``, ``run_maps("sxplan-demo")`` rebuilds
    ``sxplan-demo/maps/siting.html`` and ``sinks.html`` and returns
    ``{"siting": Path(...), "sinks": Path(...)}`` (the end-to-end demo test runs it).
    """
    from pydantic import ValidationError

    run = Path(run_dir)
    if not run.is_dir():
        raise LayerIOError(f"maps: run folder {run} does not exist; run 'sxplan demo' first")
    base = config if config is not None else (run_maps_config(run) or MapsConfig())
    key = tianditu_key or base.tianditu_key or os.environ.get("TIANDITU_KEY") or None
    try:
        given = {"offline": offline, "language": language, "basemap": basemap}
        update = {k: v for k, v in given.items() if v is not None}
        cfg = base.model_copy(update={**update, "tianditu_key": key})
        cfg = MapsConfig.model_validate(cfg.model_dump())
    except ValidationError as exc:
        raise ConfigError(f"maps: invalid option: {exc}") from exc
    if which is None:
        names = [n for n in MAP_NAMES if (run / _stage_folder(n)).is_dir()]
        if not names:
            raise LayerIOError(
                f"maps: {run} has neither a siting/ nor a sinks/ folder, so there is nothing to "
                "map; run 'sxplan demo' (or the siting/sinks stages) into it first"
            )
    else:
        unknown = [n for n in which if n not in MAP_NAMES]
        if unknown:
            raise ConfigError(f"maps: unknown map {unknown}; choose from {list(MAP_NAMES)}")
        names = list(dict.fromkeys(which))
    out = Path(out_dir) if out_dir is not None else dataset("maps.siting").path_in(run).parent
    # folium is imported here, never at `import maps`.
    from sxplan.maps._common import MapContext
    from sxplan.maps._sinks import build_sinks_map
    from sxplan.maps._siting import build_siting_map

    builders = {"siting": build_siting_map, "sinks": build_sinks_map}
    written: dict[str, Path] = {}
    for name in names:
        ctx = MapContext(run_dir=run, config=cfg)
        figure = builders[name](ctx).get_root()
        page = _link_report(stable_element_ids(figure.render()), run, out)
        if cfg.offline:
            _require_offline(page, name)
        written[name] = write_text(out / dataset(f"maps.{name}").filename(), page)
    if "siting" in names:  # supply curves (siting.economics), maps/_supply_plot.py
        from sxplan.maps._supply_plot import write_supply_figure

        written.update(write_supply_figure(run, out))
    return written


def run_maps_config(run_dir: str | os.PathLike) -> MapsConfig | None:
    """The ``maps:`` settings a run was made with (``config.maps`` of its ``run.json``).

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.

    Returns
    -------
    MapsConfig or None
        The defaults when the run's config had no ``maps:`` section; None when the folder
        has no ``run.json`` (a folder assembled by hand).

    Raises
    ------
    RunFolderError
        If ``run.json`` is not JSON or has no ``config.maps`` entry.
    ConfigError
        If its ``config.maps`` is not a valid ``maps:`` section.
    """
    from pydantic import ValidationError

    if not dataset("run.json").path_in(run_dir).is_file():
        return None
    data = read_json(run_dir, "run.json", keys=["config.maps"])
    section = data["config"]["maps"]
    if section is None:  # the run's config had no maps: section, so it used the defaults
        return MapsConfig()
    if isinstance(section, dict) and section.get("tianditu_key") == "<redacted>":
        section = {**section, "tianditu_key": None}  # run.json never keeps keys: use $TIANDITU_KEY
    try:
        return MapsConfig.model_validate(section)
    except ValidationError as exc:
        raise ConfigError(
            f"maps: {dataset('run.json').path_in(run_dir)} has an invalid config.maps ({exc}); "
            "pass --config PROJECT.yaml to use that project's maps: section instead"
        ) from exc


_ELEMENT_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def stable_element_ids(page: str) -> str:
    """``page`` with folium's random element ids replaced by ids numbered in order of use.

    folium/branca name every element ``<kind>_<uuid4 hex>`` (``map_5f1c...``), so two renders
    of the same map differ in bytes. Renumbering the ids by first appearance keeps every
    reference consistent and makes the same run give the same file.

    Examples
    --------
    >>> stable_element_ids("map_" + "ab" * 16 + " uses map_" + "ab" * 16 + ", tile_" + "c" * 32)
    'map_00000000000000000000000000000001 uses map_00000000000000000000000000000001, tile_00000000000000000000000000000002'
    """  # noqa: E501
    numbers: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return numbers.setdefault(match.group(0), f"{len(numbers) + 1:032x}")

    return _ELEMENT_ID.sub(number, page)


def _stage_folder(name: str) -> str:
    """The run-folder folder whose presence makes map ``name`` buildable (``siting/``)."""
    return Path(dataset(_MAP_INPUT[name]).path).parts[0]


def _link_report(page: str, run: Path, out: Path) -> str:
    """Add a small corner link to ``report.html`` and ``figures/`` when the run has them."""
    import html

    report = dataset("report").path_in(run)
    if not report.is_file():
        return page
    rel = html.escape(Path(os.path.relpath(report, out)).as_posix())
    figs = html.escape(Path(os.path.relpath(report.parent / "figures", out)).as_posix())
    link = (
        '<div id="sx-report-link" style="position:fixed;left:8px;bottom:28px;z-index:1000;'
        'background:#fff;padding:2px 6px;border-radius:4px;font:12px sans-serif;opacity:.9">'
        f'<a href="{rel}" target="_blank">报告 Report</a> · '
        f'<a href="{figs}/" target="_blank">图表 Figures</a></div>'
    )
    return page.replace("</body>", link + "</body>", 1)


def _require_offline(page: str, name: str) -> None:
    from sxplan.maps._assets import external_urls

    found = external_urls(page)
    if found:
        raise ConfigError(
            f"maps: the offline {name} map would fetch {found[:3]} from the network; this is a "
            "bug in maps/, please report it"
        )
