"""Colour tables and category names on categorical rasters, so QGIS opens them styled.

QGIS draws a single-band raster that carries a GDAL colour table with its "Paletted/Unique
values" renderer and those colours. Category names are stored where GDAL reads them for a
GeoTIFF: the PAM sidecar ``<file>.tif.aux.xml``, as ``CategoryNames`` and as a thematic raster
attribute table (value, class name, red, green, blue, alpha), which QGIS 3.30+ lists under
"Raster Attribute Table" and uses to classify.

:class:`CategoricalTileWriter` is a :class:`~sxplan.layers.io.RasterTileWriter` that writes the
colour table into the file before it is closed (so the Cloud-Optimized copy keeps it) and the
sidecar once the file is in place.

Inputs: ``{code: (name, (r, g, b, a))}``. Outputs: the colour table in the GeoTIFF, and
``<file>.tif.aux.xml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from .io import RasterTileWriter, atomic_path

__all__ = [
    "CategoricalTileWriter",
    "Categories",
    "landcover_categories",
    "write_category_sidecar",
]

#: code -> (category name, RGBA colour 0-255)
Categories = dict[int, tuple[str, tuple[int, int, int, int]]]

#: Colours of the common land-cover classes (sxplan.layers.landcover.COMMON_CLASSES), RGBA.
_COMMON_COLOURS = {
    1: (34, 139, 34, 255),  # forest
    2: (143, 188, 110, 255),  # shrub
    3: (190, 220, 120, 255),  # grass
    4: (240, 210, 100, 255),  # crop
    5: (200, 40, 40, 255),  # built
    6: (40, 100, 220, 255),  # water
    7: (90, 180, 200, 255),  # wetland
    8: (180, 170, 150, 255),  # barren
}


def landcover_categories(scheme: str) -> Categories:
    """Names and colours of a land-cover scheme's codes, coloured by their common class.

    Parameters
    ----------
    scheme : str
        A key of :data:`sxplan.layers.landcover.SCHEMES` (``igbp``, ``worldcover``, ...).

    Returns
    -------
    dict
        ``code -> ("<common class in Chinese> / <source class name> (<code>)", RGBA)``.

    Examples
    --------
    >>> landcover_categories("igbp")[12]
    ('耕地 / Croplands (12)', (240, 210, 100, 255))
    """
    from .landcover import COMMON_CLASSES, COMMON_NAMES_ZH, SCHEMES

    zh_by_code = {code: COMMON_NAMES_ZH[name] for name, code in COMMON_CLASSES.items()}
    return {
        code: (f"{zh_by_code[common]} / {name} ({code})", _COMMON_COLOURS[common])
        for code, (common, name) in sorted(SCHEMES[scheme].items())
    }


def write_category_sidecar(path: str | os.PathLike, categories: Categories) -> Path:
    """Write ``<path>.aux.xml`` with the category names and a thematic attribute table.

    Parameters
    ----------
    path : str or os.PathLike
        The GeoTIFF.
    categories : dict
        ``code -> (name, RGBA)``; codes 0-65535.

    Returns
    -------
    pathlib.Path
        The sidecar.
    """
    top = max(categories)
    names = [categories.get(i, ("", None))[0] for i in range(top + 1)]
    lines = ["<PAMDataset>", '  <PAMRasterBand band="1">', "    <CategoryNames>"]
    lines += [f"      <Category>{escape(n)}</Category>" for n in names]
    lines += ["    </CategoryNames>", '    <GDALRasterAttributeTable tableType="thematic">']
    fields = [("Value", 0, 5), ("Class", 2, 2), ("Red", 0, 6), ("Green", 0, 7), ("Blue", 0, 8),
              ("Alpha", 0, 9)]  # fmt: skip  # (name, GFT type, GFU usage): MinMax, Name, RGBA
    for i, (name, typ, usage) in enumerate(fields):
        lines.append(
            f'      <FieldDefn index="{i}"><Name>{name}</Name><Type>{typ}</Type>'
            f"<Usage>{usage}</Usage></FieldDefn>"
        )
    for row, (code, (name, rgba)) in enumerate(sorted(categories.items())):
        cells = "".join(f"<F>{escape(str(v))}</F>" for v in (code, name, *rgba))
        lines.append(f'      <Row index="{row}">{cells}</Row>')
    lines += ["    </GDALRasterAttributeTable>", "  </PAMRasterBand>", "</PAMDataset>", ""]
    side = Path(f"{path}.aux.xml")
    with atomic_path(side) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return side


class CategoricalTileWriter(RasterTileWriter):
    """A :class:`~sxplan.layers.io.RasterTileWriter` for codes with names and colours.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`~sxplan.layers.io.RasterTileWriter`.
    categories : dict
        ``code -> (name, RGBA)``. The colour table is written for ``uint8``/``uint16``
        rasters (the only types a GeoTIFF colour table fits); names are written for all.
    """

    def __init__(self, *args, categories: Categories, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories = dict(categories)

    def __enter__(self) -> CategoricalTileWriter:
        super().__enter__()
        # before any tile: libtiff cannot change the photometric tag of a written directory
        # (GDAL printed "ERROR 1: TIFFSetField ... PhotometricInterpretation" when this came last)
        if self.categories and self.dtype in ("uint8", "uint16"):
            self._dst.write_colormap(1, {k: v[1] for k, v in self.categories.items()})
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        handled = super().__exit__(exc_type, exc, tb)
        if exc_type is None and self.categories:
            write_category_sidecar(self.path, self.categories)
        return handled
