"""The run-folder contract: every output file, layer and column, with its unit.

A run folder is read by people (QGIS, Excel) and by sxplan itself (``sxplan map``, reports,
backtests). Writers and readers go through this one module: a writer checks its
table with :meth:`Dataset.check` before writing, a reader opens a table with
:func:`read_table`, which says which file, layer or column is missing instead of guessing a
column name. Nothing here imports pandas, geopandas or rasterio until a table is read.

Column names carry their unit (``area_km2``, ``capacity_mw``, ``energy_gwh_per_yr``); each
:class:`Column` also states the unit and its meaning in words. Some columns come in families
named after the run's settings (``crit_<criterion>``, ``score_<criterion>``,
``mean_<layer>_<units>``, ``lc_<class>_share``, ``excluded_<rule>_km2``): a
:class:`Dataset` lists them as patterns.

The two types live in ``sxplan/_schema_types.py`` and the catalog of every dataset (one
``name | unit | meaning`` line per column) in ``sxplan/_schema_catalog.py``; this module is
the API everything else imports.

Inputs: none. Outputs: :data:`DATASETS` (by key), :func:`dataset`, :func:`read_table`,
:func:`read_json`, :func:`require_columns`, :func:`technology_columns`.

Examples
--------
>>> dataset("siting.parcels").relpath(tech="pv")
'siting/parcels_pv.gpkg'
>>> dataset("siting.parcels").layer_name(tech="wind")
'parcels_wind'
>>> dataset("sinks.trajectory").column("sink_tco2_per_yr").unit
'tCO2/yr'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sxplan.errors import RunFolderError

from ._schema_catalog import COUNTY_COLUMNS, DATASETS
from ._schema_types import Column, Dataset

__all__ = [
    "COUNTY_COLUMNS",
    "DATASETS",
    "SCHEMA_VERSION",
    "Column",
    "Dataset",
    "dataset",
    "read_json",
    "read_table",
    "require_columns",
    "technology_columns",
]

#: Version of this contract, written to ``run.json`` as ``sxplan_run``.
SCHEMA_VERSION = 1


def require_columns(
    columns: Iterable[str], needed: Sequence[str], *, source: str | Path, fix: str
) -> None:
    """Refuse a table that lacks columns a reader needs, naming them and the file.

    Parameters
    ----------
    columns : iterable of str
        Columns the file has.
    needed : sequence of str
        Columns the reader uses.
    source : str or pathlib.Path
        The file (and layer), for the message.
    fix : str
        What the user should do.

    Raises
    ------
    RunFolderError
        Listing every missing column.

    Examples
    --------
    >>> require_columns(["a", "b"], ["a"], source="x.csv", fix="re-run")
    """
    have = set(columns)
    missing = [c for c in needed if c not in have]
    if missing:
        raise RunFolderError(
            f"{source} lacks column(s) {missing} that sxplan needs; it has "
            f"{sorted(c for c in have if c != 'geometry')}. {fix}"
        )


def read_table(
    run_dir: str | Path,
    key: str,
    *,
    columns: Sequence[str] | None = None,
    **fields: str,
):
    """Read one table of a run folder, refusing a missing file, layer or column by name.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    key : str
        Dataset key in :data:`DATASETS` (``siting.bases``, ``siting.parcels``, ...).
    columns : sequence of str, optional
        Columns the caller uses; default the dataset's required fixed columns.
    **fields : str
        Placeholders of the path (``tech="pv"``).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        CSV tables as DataFrames (read as UTF-8 with BOM), GeoPackage layers as GeoDataFrames.

    Raises
    ------
    RunFolderError
        If the file, its layer or a needed column is missing.
    """
    ds = dataset(key)
    path = ds.path_in(run_dir, **fields)
    fix = (
        f"Re-run the '{ds.stage}' step of sxplan into this folder (a folder written by another "
        "version of sxplan, or edited by hand, may lack it)"
    )
    if not path.is_file():
        raise RunFolderError(
            f"run folder {run_dir} has no {ds.relpath(**fields)} ({ds.meaning}). {fix}"
        )
    if ds.kind == "csv":
        import pandas as pd

        try:
            frame = _read_csv(path, ds)
        except UnicodeDecodeError as exc:
            raise RunFolderError(
                f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); sxplan writes its "
                "CSV files as UTF-8 with BOM. If Excel saved it again, save it as "
                f"'CSV UTF-8 (逗号分隔)', or {fix[0].lower()}{fix[1:]}"
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise RunFolderError(f"{path} is not a readable CSV table ({exc}). {fix}") from None
        source = str(path)
    elif ds.kind == "gpkg":
        import geopandas as gpd

        layer = ds.layer_name(**fields)
        layers = ds.gpkg_layers(path)
        if layer not in layers:
            raise RunFolderError(f"{path} has no layer '{layer}' (it has {layers}). {fix}")
        try:
            frame = gpd.read_file(path, layer=layer)
        except Exception as exc:  # noqa: BLE001 - any driver failure becomes one clear error
            raise RunFolderError(f"cannot read layer '{layer}' of {path} ({exc}). {fix}") from exc
        source = f"{path} (layer '{layer}')"
    else:
        raise ValueError(f"{key} is a {ds.kind} file, not a table")
    needed = list(columns) if columns is not None else [c.name for c in ds.columns if c.required]
    require_columns(frame.columns, needed, source=source, fix=fix)
    return frame


def _read_csv(path: Path, ds: Dataset):
    """Read a run-folder CSV whatever its header (``project.csv_header``).

    ``en``: one row of column names. ``zh+en``: the names, then a row of their Chinese labels
    (skipped). ``zh``: one row of Chinese labels, mapped back to the names through the catalog.
    """
    import csv
    import itertools

    import pandas as pd

    with open(path, encoding="utf-8-sig", newline="") as f:
        head = list(itertools.islice(csv.reader(f), 2))
    header = head[0] if head else []
    if header and all(ds.known(c) for c in header):
        labels = ds.header_labels(header)
        two_rows = len(head) > 1 and head[1] == labels and labels != header
        return pd.read_csv(path, encoding="utf-8-sig", skiprows=[1] if two_rows else None)
    frame = pd.read_csv(path, encoding="utf-8-sig")
    names = [ds.english_name(str(c)) for c in frame.columns]
    if header and all(names):
        frame.columns = names
    return frame


def read_json(run_dir: str | Path, key: str, *, keys: Sequence[str] = ()) -> dict:
    """Read a JSON file of a run folder (``run.json``, ``layers.grid``), refusing what is missing.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    key : str
        Dataset key of a ``json`` dataset.
    keys : sequence of str
        Dotted paths the caller uses (``"config.maps"``); each must be present.

    Returns
    -------
    dict
        The parsed file.

    Raises
    ------
    RunFolderError
        If the file is missing, is not JSON, or lacks one of ``keys``.
    """
    import json

    ds = dataset(key)
    if ds.kind != "json":
        raise ValueError(f"{key} is a {ds.kind} file, not JSON")
    path = ds.path_in(run_dir)
    step = "sxplan" if ds.stage == "run" else f"the '{ds.stage}' step of sxplan"
    fix = (
        f"Re-run {step} into this folder (a folder written by another version of sxplan, or "
        "edited by hand, may lack it)"
    )
    if not path.is_file():
        raise RunFolderError(f"run folder {run_dir} has no {ds.relpath()} ({ds.meaning}). {fix}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path} is not valid JSON ({exc}). {fix}") from None
    for dotted in keys:
        node = data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RunFolderError(f"{path} has no '{dotted}' entry that sxplan needs. {fix}")
            node = node[part]
    return data


def dataset(key: str) -> Dataset:
    """The :class:`Dataset` called ``key``; a clear error lists the known keys."""
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(
            f"no dataset {key!r} in sxplan/schema.py; known: {sorted(DATASETS)}"
        ) from None


def technology_columns(key: str, tech: str) -> tuple[Column, ...]:
    """Columns that ``tech`` adds to dataset ``key`` (empty when it adds none)."""
    return dataset(key).by_technology.get(tech, ())
