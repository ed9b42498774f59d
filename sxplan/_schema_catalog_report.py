"""Catalog entries for the report and QGIS side files of a run folder.

Report figures and the one-page report (:mod:`sxplan.maps.figures`,
:mod:`sxplan.maps.report_page`), and the category names and attribute tables of categorical
rasters (:mod:`sxplan.layers.raster_style`). Every GeoPackage also holds a ``layer_styles``
table with a default QGIS style per layer (:mod:`sxplan.layers.gpkg_style`). Read through
:mod:`sxplan.schema`.

Inputs: none. Outputs: :data:`REPORT`.
"""

from __future__ import annotations

from ._schema_types import Dataset

__all__ = ["REPORT"]

REPORT: tuple[Dataset, ...] = (
    Dataset(
        "layers.raster_categories",
        "layers/{name}.tif.aux.xml",
        "xml",
        "category names and attribute table of a categorical input raster (land cover)",
        "layers",
    ),  # fmt: skip
    Dataset(
        "siting.excluded_by_rule_categories",
        "siting/excluded_by_rule_{tech}.tif.aux.xml",
        "xml",
        "category names and attribute table of excluded_by_rule_<tech>.tif",
        "siting",
    ),  # fmt: skip
    Dataset("figures.png", "figures/{name}.png", "png", "a report figure, PNG", "figures"),
    Dataset("figures.svg", "figures/{name}.svg", "svg", "a report figure, SVG", "figures"),
    Dataset(
        "report",
        "report.html",
        "html",
        "one-page printable report: headline numbers, figures",
        "figures",
    ),  # fmt: skip
)
