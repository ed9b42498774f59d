"""Column and Dataset: the two types of the run-folder contract (see :mod:`sxplan.schema`).

Inputs: none. Outputs: :class:`Column`, :class:`Dataset`, and ``columns_from_table`` to write
column lists as ``name | unit | meaning`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sxplan.errors import RunFolderError

__all__ = ["Column", "Dataset", "Kind", "columns_from_table"]

Kind = Literal["csv", "gpkg", "tif", "json", "html", "png", "svg", "xml"]


#: Placeholders of column families that are narrower than "any text".
_PLACEHOLDER_REGEX = {"year": r"\d{4}"}


@dataclass(frozen=True)
class Column:
    """One column of an output table.

    Attributes
    ----------
    name : str
        Exact column name, or a pattern with one ``{placeholder}`` for a family of columns.
    unit : str
        Unit (``km2``, ``MW``, ``GWh/yr``, ``1`` for a 0-1 share, ``%``, ``""`` for text/ids).
    meaning : str
        What it holds, in a phrase.
    required : bool
        Readers may rely on it: a file without it is refused by :func:`read_table`.
    """

    name: str
    unit: str
    meaning: str
    required: bool = True

    @property
    def label_zh(self) -> str:
        """Chinese label (with the family's placeholder), or "" (``sxplan/_schema_labels.py``)."""
        from ._schema_labels import LABELS_ZH

        return LABELS_ZH.get(self.name, "")

    def label_for(self, name: str) -> str:
        """The Chinese label of column ``name`` (a member of this family fills the placeholder).

        Examples
        --------
        >>> Column("cover_{year}_pct", "%", "cover").label_for("cover_2030_pct")
        '2030年森林覆盖率(%)'
        """
        label = self.label_zh
        if not label or not self.is_pattern:
            return label or name
        match = re.fullmatch(self._regex(named=True), name)
        return label.format(**match.groupdict()) if match else name

    def name_for(self, label: str) -> str | None:
        """The column name whose Chinese label is ``label``, or None."""
        if not self.label_zh:
            return None
        if not self.is_pattern:
            return self.name if label == self.label_zh else None
        regex = re.sub(
            r"\\\{([a-z_]+)\\\}", lambda m: f"(?P<{m.group(1)}>.+)", re.escape(self.label_zh)
        )
        match = re.fullmatch(regex, label)
        return self.name.format(**match.groupdict()) if match else None

    @property
    def is_pattern(self) -> bool:
        """True for a family of columns (``crit_{criterion}``)."""
        return "{" in self.name

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this column (or a member of this family).

        Examples
        --------
        >>> Column("crit_{criterion}", "", "raw criterion value").matches("crit_slope_pct")
        True
        """
        if not self.is_pattern:
            return name == self.name
        return re.fullmatch(self._regex(), name) is not None

    def _regex(self, named: bool = False) -> str:
        """The pattern as a regular expression: ``{year}`` is four digits, others any text."""
        parts = re.split(r"\{([a-z_]+)\}", self.name)
        out = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                out.append(re.escape(part))
            else:
                body = _PLACEHOLDER_REGEX.get(part, ".+")
                out.append(f"(?P<{part}>{body})" if named else body)
        return "".join(out)


def columns_from_table(table: str, required: bool = True) -> tuple[Column, ...]:
    """Columns from ``name | unit | meaning`` lines (one fact per line, easy to read)."""
    out = []
    for line in table.strip().splitlines():
        name, unit, meaning = (part.strip() for part in line.split("|"))
        out.append(Column(name, unit, meaning, required))
    return tuple(out)


@dataclass(frozen=True)
class Dataset:
    """One output file (and layer) of a run folder.

    Attributes
    ----------
    key : str
        Stable name, ``<stage>.<what>`` (``siting.parcels``).
    path : str
        Path relative to the run folder; may contain ``{tech}``.
    kind : {"csv", "gpkg", "tif", "json", "html", "png"}
        File format.
    meaning : str
        What the file holds.
    stage : str
        The step that writes it (``layers``, ``siting``, ``roadside_pv``, ``sinks``, ``maps``).
    layer : str, optional
        GeoPackage layer name; may contain ``{tech}``.
    columns : tuple of Column
        Columns in the order they are written (required ones first where it matters).
    patterns : tuple of Column
        Families of columns named after the run's settings, in the order they follow.
    unit : str
        Unit of the cell values, for rasters.
    """

    key: str
    path: str
    kind: Kind
    meaning: str
    stage: str
    layer: str | None = None
    columns: tuple[Column, ...] = ()
    patterns: tuple[Column, ...] = ()
    unit: str = ""
    by_technology: Mapping[str, tuple[Column, ...]] = field(default_factory=dict)

    def relpath(self, **fields: str) -> str:
        """Path relative to the run folder, with ``{tech}`` etc. filled in."""
        return self.path.format(**fields)

    def path_in(self, run_dir: str | Path, **fields: str) -> Path:
        """Absolute path of this file in ``run_dir``."""
        return Path(run_dir) / self.relpath(**fields)

    def filename(self, **fields: str) -> str:
        """File name without its stage folder (for writers given the stage folder).

        Examples
        --------
        >>> from sxplan.schema import dataset
        >>> dataset("sinks.trajectory").filename()
        'trajectory.csv'
        """
        return Path(self.relpath(**fields)).name

    def present_in(self, run_dir: str | Path, **fields: str) -> bool:
        """Whether ``run_dir`` holds this file (and, for a GeoPackage, its layer).

        Readers of optional outputs ask this first, then read with :func:`read_table`, so an
        absent optional file is skipped while a present one is still checked column by column.
        """
        path = self.path_in(run_dir, **fields)
        if not path.is_file():
            return False
        if self.kind != "gpkg" or self.layer is None:
            return True
        return self.layer_name(**fields) in self.gpkg_layers(path)

    def gpkg_layers(self, path: Path) -> list[str]:
        """Layer names of this GeoPackage at ``path``; an unreadable file is a RunFolderError."""
        import pyogrio

        try:
            return [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        except Exception as exc:  # noqa: BLE001 - any driver failure becomes one clear error
            raise RunFolderError(
                f"{path} is not a GeoPackage GDAL can read ({exc}); re-run the '{self.stage}' "
                "step of sxplan into this folder"
            ) from exc

    def family(self, columns: Iterable[str], pattern: str) -> list[str]:
        """Columns of a table that belong to the family ``pattern``, in the table's order.

        A fixed column of the dataset is never a family member (``score_mean`` is not a
        ``score_{criterion}``).

        Examples
        --------
        >>> from sxplan.schema import dataset
        >>> cols = ["score_mean", "score_slope_pct", "crit_slope_pct"]
        >>> dataset("siting.parcels").family(cols, "score_{criterion}")
        ['score_slope_pct']
        """
        fam = next((c for c in self.patterns if c.name == pattern), None)
        if fam is None:
            raise KeyError(f"{self.key} has no column family {pattern!r}")
        fixed = {c.name for c in self.columns} | {
            c.name for cols in self.by_technology.values() for c in cols
        }
        return [c for c in columns if c not in fixed and fam.matches(str(c))]

    def layer_name(self, **fields: str) -> str | None:
        """GeoPackage layer name with placeholders filled in."""
        return None if self.layer is None else self.layer.format(**fields)

    def column(self, name: str) -> Column:
        """The column (or column family) called ``name``."""
        for col in self.all_columns():
            if col.name == name or col.matches(name):
                return col
        raise KeyError(f"{self.key} has no column {name!r}")

    def all_columns(self) -> tuple[Column, ...]:
        """Fixed columns, then technology-specific ones (each name once), then families.

        Two technologies may share a column (PV and agrivoltaic PV both report
        ``yield_kwh_per_kwp_yr``); it is listed once, as the first technology declares it.
        """
        seen = {c.name for c in self.columns}
        extra = []
        for cols in self.by_technology.values():
            for c in cols:
                if c.name not in seen:
                    seen.add(c.name)
                    extra.append(c)
        return self.columns + tuple(extra) + self.patterns

    def header_labels(self, columns: Iterable[str]) -> list[str]:
        """Chinese labels of ``columns`` (a column without one keeps its name)."""
        out = []
        for name in columns:
            try:
                out.append(self.column(str(name)).label_for(str(name)))
            except KeyError:
                out.append(str(name))
        return out

    def english_name(self, label: str) -> str | None:
        """The column name a Chinese header ``label`` stands for (or ``label`` if it is one)."""
        if self.known(label):
            return label
        for col in self.all_columns():
            name = col.name_for(label)
            if name is not None:
                return name
        return None

    def known(self, name: str) -> bool:
        """Whether ``name`` is a column of this dataset (fixed, per technology, or a family)."""
        return name == "geometry" or any(c.matches(name) for c in self.all_columns())

    def check(self, frame, *, where: str | None = None, complete: bool = True):
        """Check a table against the schema before it is written (writers call this).

        Every required fixed column must be present and every column must be known to the
        schema, so a writer cannot drift from what readers expect. The table is returned
        unchanged (column order is the writer's).

        Parameters
        ----------
        frame : pandas.DataFrame or geopandas.GeoDataFrame
            The table about to be written.
        where : str, optional
            Name used in the error (default the dataset's path).
        complete : bool
            False for a table that may lack required columns by design (a shortlist of
            roadside strips only has no parcel columns): only unknown columns are refused.

        Returns
        -------
        Same as ``frame``

        Raises
        ------
        RuntimeError
            When the writer and the schema disagree (a bug in sxplan, not in the input).
        """
        cols = [str(c) for c in frame.columns]
        missing = [c.name for c in self.columns if complete and c.required and c.name not in cols]
        unknown = [c for c in cols if not self.known(c)]
        if missing or unknown:
            raise RuntimeError(
                f"{where or self.path}: the table written does not match the run-folder schema "
                f"({self.key} in sxplan/_schema_catalog.py): missing {missing}, not in the schema "
                f"{unknown}; please report"
            )
        return frame
