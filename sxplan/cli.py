"""The ``sxplan`` command: thin wrappers that parse, load config, call one run, and report.

Inputs: command-line arguments. Outputs: a run folder; a short report on stdout; errors on
stderr as ``sxplan: error: ...`` with exit status 2.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
from pathlib import Path

import click

from sxplan.errors import SxplanError
from sxplan.siting.technology import technology_names

from ._signals import INTERRUPTED, RECEIVED, Terminated

__all__ = ["main"]


def _echo(msg: str = "") -> None:
    click.echo(msg)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sxplan")
def cli() -> None:
    """sxplan: spatial planning for the Shanxi Carbon Peak Implementation Plan.

    山西省碳达峰实施方案空间规划工具：风光选址、高速公路边坡光伏、县域森林碳汇、离线地图。
    """


def _out_option(default: str | None = None):
    return click.option(
        "--out",
        "out",
        type=click.Path(file_okay=False, path_type=Path),
        required=default is None,
        default=default,
        help="Output folder (created; replaced only with --overwrite).",
    )


_overwrite = click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
_no_progress = click.option("--no-progress", is_flag=True, help="Hide progress bars.")
_language = click.option(
    "--language",
    type=click.Choice(["zh+en", "zh", "en"]),
    default=None,
    expose_value=False,
    callback=lambda ctx, _p, v: ctx.meta.__setitem__("sxplan_language", v),
    help="Language of CSV headers (zh+en: a second header row in Chinese), console tables, "
    "figures and maps (default: the config's maps.language and project.csv_header).",
)
_scheduler = click.option(
    "--scheduler",
    default=None,
    help="Where windows are computed: sync, threads (default from the config), processes "
    "(a local Dask cluster) or tcp://HOST:PORT of a running dask.distributed scheduler.",
)


@cli.command()
@_out_option("sxplan-demo")
@_overwrite
@click.option("--res", "res_m", type=float, default=None, help="Grid resolution in metres.")
@click.option("--no-maps", is_flag=True, help="Skip the HTML maps.")
@_no_progress
@_language
@_scheduler
def demo(
    out: Path,
    overwrite: bool,
    res_m: float | None,
    no_maps: bool,
    no_progress: bool,
    scheduler: str | None,
):
    """Run everything on the embedded Shanxi data (offline)."""
    from .config import demo_config_path
    from .demo_data import DEMO_LAYERS, PROXY_LAYERS
    from .run import STEPS

    for name in PROXY_LAYERS:
        _echo(f"WARNING: demo layer `{name}`: {DEMO_LAYERS[name]['description']}.")
    _echo(
        "  Results from these layers show the method, not real potential; replace them with "
        "your own (wind: Global Wind Atlas; sxplan/data/shanxi/DATA.md says how)."
    )
    _echo("注意：演示数据中风能(wind_proxy)、生态红线(redline_proxy)与高速公路为代理/示意数据。")
    steps = tuple(s for s in STEPS if not (no_maps and s == "maps"))
    _run_config(demo_config_path(), out, steps, overwrite, no_progress, scheduler, res_m=res_m)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@_out_option()
@_overwrite
@_no_progress
@_language
@_scheduler
def layers(config: Path, out: Path, overwrite: bool, no_progress: bool, scheduler: str | None):
    """Align every layer of CONFIG onto the analysis grid and write the stack."""
    _run_config(config, out, ("layers",), overwrite, no_progress, scheduler)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tech",
    "techs",
    multiple=True,
    type=click.Choice(technology_names()),
    help="Technologies to site (repeatable; default: pv and wind, plus roadside_pv when "
    "configured).",
)
@click.option(
    "--roads",
    "roads",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Highway line file for roadside PV (e.g. OpenStreetMap motorways/trunks) instead of "
    "the config's `highways` layer.",
)
@_out_option()
@_overwrite
@_no_progress
@_language
@_scheduler
def site(
    config: Path,
    techs: tuple[str, ...],
    roads: Path | None,
    out: Path,
    overwrite: bool,
    no_progress: bool,
    scheduler: str | None,
):
    """Site utility PV, wind and roadside PV from the rules in CONFIG."""
    from .config import load_config

    cfg = load_config(config)
    parcel_techs = technology_names(engine="parcels")
    strip_techs = technology_names(engine="strips")  # roadside PV, its own step and section
    if not techs:
        techs = (*parcel_techs, *(strip_techs if cfg.roadside_pv is not None else ()))
    steps = ["layers"]
    grid_techs = [t for t in techs if t in parcel_techs]
    if grid_techs:
        steps.append("siting")
    if any(t in strip_techs for t in techs):
        if cfg.roadside_pv is None:
            raise SxplanError(f"{config}: --tech roadside_pv needs a `roadside_pv:` section")
        steps.append("roadside_pv")
    pair_techs = technology_names(engine="reservoir_pairs")  # pumped storage, its own step
    if any(t in pair_techs for t in techs):
        if cfg.pumped_storage is None:
            raise SxplanError(f"{config}: --tech pumped_storage needs a `pumped_storage:` section")
        steps.append("pumped_storage")
    steps.append("figures")
    options = {"techs": grid_techs, "roads_path": roads}
    _run_config(cfg, out, tuple(steps), overwrite, no_progress, scheduler, options)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@_out_option()
@_overwrite
@_no_progress
@_language
@_scheduler
@click.option(
    "--siting",
    "siting_run",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="folder of an earlier run on the same grid: its shortlisted PV/wind parcels are "
    "kept from planting and get net_carbon.csv",
)
def sinks(
    config: Path,
    out: Path,
    overwrite: bool,
    no_progress: bool,
    scheduler: str | None,
    siting_run: Path | None,
):
    """County forest baseline, afforestation toward +2.5 points, and sequestration."""
    options = {"siting_run": siting_run} if siting_run else None
    steps = ("layers", "sinks", "figures")
    _run_config(config, out, steps, overwrite, no_progress, scheduler, options)


@cli.command(name="map")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--online/--offline",
    default=None,
    help="Online base maps, or none at all (default: the run's maps.offline, else offline).",
)
@click.option(
    "--basemap",
    type=click.Choice(["osm", "tianditu", "amap"]),
    default=None,
    help="Online base map (with --online; default: the run's maps.basemap, else osm).",
)
@click.option(
    "--tianditu-key",
    default=None,
    help="Tianditu key (default: the run's maps.tianditu_key, else $TIANDITU_KEY).",
)
@click.option(
    "--language",
    type=click.Choice(["zh+en", "zh", "en"]),
    default=None,
    help="Label language (default: the run's maps.language, else zh+en).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Project YAML whose `maps:` section to use instead of the run's (RUN_DIR/run.json).",
)
def map_cmd(
    run_dir: Path,
    online: bool | None,
    basemap: str | None,
    tianditu_key: str | None,
    language: str | None,
    config_path: Path | None,
):
    """Rebuild the HTML maps of RUN_DIR (written to RUN_DIR/maps).

    The settings are the run's own `maps:` section (from RUN_DIR/run.json); the options given
    here override them.
    """
    from sxplan.maps import MapsConfig, run_maps, run_maps_config
    from sxplan.schema import dataset

    if config_path is not None:
        from .config import load_config

        maps_cfg = load_config(config_path).maps or MapsConfig()
        _echo(f"map settings: maps: section of {config_path}")
    else:
        maps_cfg = run_maps_config(run_dir)
        if maps_cfg is None:
            _echo(f"map settings: defaults ({run_dir} has no run.json)")
        else:
            _echo(f"map settings: maps: section recorded in {dataset('run.json').path_in(run_dir)}")
    from ._out_guard import out_lock
    from .run_folder import record_outputs

    with out_lock(run_dir.resolve()):  # not while a run is replacing RUN_DIR
        paths = run_maps(
            run_dir,
            config=maps_cfg,
            offline=None if online is None else not online,
            language=language,
            basemap=basemap,
            tianditu_key=tianditu_key,
        )
        record_outputs(run_dir, paths.values())  # run.json's checksums stay true
    for name, path in paths.items():
        _echo(f"{name}: {path}")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_overwrite
def init(directory: Path, overwrite: bool):
    """Write a commented project template into DIRECTORY."""
    from importlib.resources import files

    from sxplan.errors import OutputExistsError
    from sxplan.layers import write_text

    target = directory / "project.yaml"
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --overwrite to replace it")
    text = (files("sxplan") / "templates" / "project.yaml").read_text(encoding="utf-8")
    write_text(target, text)
    _echo(f"wrote {target}; edit the paths under `layers:`, then run `sxplan site {target} ...`")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--sites",
    "sites_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Existing installations: CSV with lon/lat columns, or a vector file (points or polygons).",
)
@click.option(
    "--technology",
    "techs",
    multiple=True,
    type=click.Choice(["pv", "wind"]),
    help="Technology to score against (repeatable; default every one in the run).",
)
@click.option("--capacity-field", default=None, help="Field with capacity in MW.")
@click.option("--accuracy-field", default=None, help="Field with a location-accuracy label.")
@click.option(
    "--lon-field", default=None, help="CSV longitude column (default lon/longitude/经度)."
)
@click.option("--lat-field", default=None, help="CSV latitude column (default lat/latitude/纬度).")
@click.option("--layer", default=None, help="Layer of a multi-layer vector file.")
@click.option(
    "--datum",
    type=click.Choice(["wgs84", "gcj02"]),
    default="wgs84",
    help="Datum of the coordinates (gcj02: Amap/Baidu-derived, shifted on load).",
)
@click.option(
    "--drop-shared-coordinates",
    is_flag=True,
    help="Leave out sites whose exact point is shared by --shared-min or more sites.",
)
@click.option(
    "--shared-min",
    type=click.IntRange(2),
    default=3,
    show_default=True,
    help="Sites at one coordinate that mark it as a placeholder.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--background",
    type=click.IntRange(100),
    default=10000,
    show_default=True,
    help="Random background cells drawn from the study area.",
)
@_overwrite
def backtest(run_dir: Path, sites_path: Path, techs, capacity_field, accuracy_field,
             lon_field, lat_field, layer, datum, drop_shared_coordinates, shared_min, seed,
             background, overwrite):  # fmt: skip
    """Score existing installations against the suitability of RUN_DIR (writes RUN_DIR/backtest).

    ROC AUC of the score and of each criterion (sites against a random background, 90%
    bootstrap interval), the shares of sites and capacity on eligible land, and the rules
    that exclude the others.
    """
    from ._backtest_sites import SiteOptions
    from .backtest import BacktestOptions, run_backtest
    from .report import print_backtest

    opts = BacktestOptions(
        techs=tuple(techs),
        sites=SiteOptions(datum, lon_field, lat_field, capacity_field, accuracy_field, layer),
        drop_shared_coordinates=drop_shared_coordinates, shared_min=shared_min, seed=seed,
        background=background, overwrite=overwrite,
    )  # fmt: skip
    print_backtest(run_backtest(run_dir, sites_path, opts), _echo)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
def validate(config: Path):
    """Check CONFIG and every input it names (the pre-flight of every run); write nothing."""
    from .config import load_config
    from .preflight import preflight

    cfg = load_config(config)
    for line in preflight(cfg).lines():
        _echo(line)
    _echo(f"{config}: valid ({len(cfg.layers)} layers); a run will start")


@cli.group()
def data() -> None:
    """Get input data: `sxplan data fetch` downloads public layers for a study area."""


@data.command()
@click.option("--area", required=True, help="shanxi, a Shanxi county adcode, or a vector file.")
@click.option(
    "--layers",
    "layer_list",
    default="dem,landcover,wind,solar,roads",
    show_default=True,
    help="Comma-separated: dem, landcover, landcover_clcd, wind, solar, roads, protected.",
)
@click.option("--dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the clipped layers, sources.md and project.yaml.")  # fmt: skip
@click.option("--from-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of hand-downloaded files (by the names in missing.md).")  # fmt: skip
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Download cache (default DEST/cache).")  # fmt: skip
@click.option("--mirror", default=None,
              help="Base URL of a mirror laid out as MIRROR/<source id>/<path> "
              "(default $SXPLAN_FETCH_MIRROR; else the publishers).")  # fmt: skip
@click.option("--margin-m", type=float, default=5000.0, show_default=True,
              help="Margin around the area, metres.")  # fmt: skip
@click.option("--area-datum", type=click.Choice(["wgs84", "gcj02"]), default="wgs84",
              help="Datum of an --area file (gcj02 for Amap/DataV-derived data).")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True,
              help="Retries per file (exponential backoff from 2 s); a host that does not "
              "answer is not tried again in the same run.")  # fmt: skip
@_no_progress
def fetch(area, layer_list, dest, from_dir, cache, mirror, margin_m, area_datum, retries,
          no_progress):  # fmt: skip
    """Download public layers for an area, clip them, and write a runnable project.yaml.

    Exit status 2 when a requested layer could not be fetched: DEST/missing.md then names
    each missing file, its URL, and where to put a hand-downloaded copy (--from-dir).
    """
    from sxplan.errors import LayerIOError
    from sxplan.fetch.download import DownloadPolicy
    from sxplan.fetch.run import run_fetch

    layers = [n.strip() for n in layer_list.split(",") if n.strip()]
    command = f"sxplan data fetch --area {area} --layers {','.join(layers)} --dest {dest} " + (
        f"--from-dir {from_dir}" if from_dir else "--from-dir DIR"
    )
    policy = DownloadPolicy(attempts=retries + 1, progress=not no_progress)
    report = run_fetch(area, layers, dest, from_dir=from_dir, cache=cache, mirror=mirror,
                       margin_m=margin_m, datum=area_datum, command=command, log=_echo,
                       policy=policy)  # fmt: skip
    for path in report.written:
        _echo(f"wrote {path}")
    if report.project is not None:
        _echo(f"next: sxplan site {report.project} --out RUN_FOLDER")
    if report.missing:
        _echo(report.missing_md.read_text(encoding="utf-8"))
        names = ", ".join(r.layer for r in report.missing)
        raise LayerIOError(
            f"could not fetch {names}; {report.missing_md} lists the URLs and where to put "
            "hand-downloaded files (--from-dir); everything fetched so far stays in the cache"
        )


def _run_config(
    config, out, steps, overwrite, no_progress, scheduler, options=None, res_m=None
) -> None:
    """Load a config (path or loaded), apply CLI overrides, run the steps, print the report."""
    from .config import load_config
    from .report import print_run
    from .run import run_project

    cfg = load_config(config) if isinstance(config, Path) else config
    cfg = _with_project(cfg, progress=not no_progress, scheduler=scheduler, res_m=res_m)
    cfg = _with_language(cfg, click.get_current_context().meta.get("sxplan_language"))
    ctx = run_project(cfg, out, steps=steps, overwrite=overwrite, log=_echo, options=options)
    print_run(ctx, _echo)


def _with_language(cfg, language: str | None):
    """``--language``: the CSV header style and the maps' (so figures' and tables') language."""
    if language is None:
        return cfg
    from sxplan.maps.config import MapsConfig

    maps = (cfg.maps or MapsConfig()).model_copy(update={"language": language})
    return _with_project(cfg, csv_header=language).model_copy(update={"maps": maps})


def _with_project(cfg, **changes):
    """Apply command-line overrides to the project section, validating them like the YAML."""
    from pydantic import ValidationError

    from sxplan.errors import ConfigError
    from sxplan.layers.specs import format_validation_error

    from .config import ProjectSection

    changes = {k: v for k, v in changes.items() if v is not None}
    if "res_m" in changes:
        changes["resolution_m"] = changes.pop("res_m")
    if not changes:
        return cfg
    try:
        project = ProjectSection.model_validate({**cfg.project.model_dump(), **changes})
    except ValidationError as exc:
        raise ConfigError(
            "command-line option: " + format_validation_error(exc, "project")
        ) from None
    return cfg.model_copy(update={"project": project})


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup
    RECEIVED.set()  # kept even where the exception below is dropped (sxplan._signals)
    raise Terminated


def _on_sigint(signum, frame):
    INTERRUPTED.set()  # kept even where the exception below is dropped (sxplan._signals)
    raise KeyboardInterrupt


@contextlib.contextmanager
def quiet_spurious_warnings():
    """Leave out, for one command, a library warning that says nothing about the user's data.

    rasterio 1.4.4 (GDAL 3.10.3) now and then warns "Dataset has no geotransform" from
    ``rasterio.features.rasterize`` although a transform is given, when two threads rasterize
    at once (siting's tiles do): 2 calls of 224,000 on two threads warned, none of 20,000 on
    one, and every call burned the same cells as a serial run (``benchmarks/README.md``,
    s43). On a planner's screen it reads as if their layers lacked georeferencing. Only that
    warning from that module is left out; the same warning from ``rasterio.open`` (a file
    really without a transform) still shows. The filter is undone when the command returns.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Dataset has no geotransform", module=r"rasterio\.features$"
        )
        yield


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sxplan`` console script; returns the exit status.

    0 done, 1 interrupted by Ctrl-C, 2 an input or command to fix (an sxplan error), 143
    stopped by SIGTERM (128 + 15, as a shell reports it). An interrupted run removes its
    staging folder; the output folder is left as it was, unless the run was already in place
    (a SIGTERM during the report after it), which the message then says.
    """
    from .run_folder import INSTALLED

    previous = previous_int = None
    installed_before = len(INSTALLED)
    RECEIVED.clear()
    INTERRUPTED.clear()
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if ignored
            previous_int = signal.signal(signal.SIGINT, _on_sigint)
    try:
        with quiet_spurious_warnings():
            code = _main(argv)
        if code == 0 and INTERRUPTED.is_set():  # dropped after the run was put in place
            done = INSTALLED[installed_before:]
            where = f": {done[-1]} holds the new run" if done else ""
            click.echo(f"aborted (Ctrl-C) after the run was complete{where}", err=True)
            return 1
        return code
    except Terminated:
        done = INSTALLED[installed_before:]
        if done:  # the run was complete and in place; only its report was cut short
            click.echo(f"terminated (SIGTERM) after the run was complete: {done[-1]} holds "
                       "the new run", err=True)  # fmt: skip
        else:
            click.echo("terminated (SIGTERM); the output folder was left as it was", err=True)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        RECEIVED.clear()  # code run later in this process (tests, a notebook) starts clean
        INTERRUPTED.clear()


def _main(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="sxplan", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SxplanError as exc:
        width = shutil.get_terminal_size((100, 20)).columns
        click.echo(f"sxplan: error: {exc}"[: max(width * 40, 2000)], err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
