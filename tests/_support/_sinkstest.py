"""Shared fixture of the sinks tests: four 5 x 5 km counties on a 1 km grid."""

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from sxplan.layers.counties import validate_counties
from sxplan.layers.grid import ALBERS_CHINA, GridSpec
from sxplan.layers.io import write_raster

X0, Y1 = 1_000_000.0, 4_000_000.0


def make_province(tmp_path, *, forest_cols=2, dem_m=1000.0):
    """Four 5x5 km counties in a 10x10 km square, 1 km cells.

    Land cover: the first ``forest_cols`` columns of every county are forest (IGBP 1),
    the next column is cropland (12), the rest grassland (10).
    """
    g = GridSpec.from_bounds((X0, Y1 - 10_000, X0 + 10_000, Y1), 1000.0, ALBERS_CHINA)
    codes = np.full((10, 10), 10, dtype="uint8")
    for c0 in (0, 5):
        codes[:, c0 : c0 + forest_cols] = 1
        codes[:, c0 + forest_cols] = 12
    rasters = {
        "landcover": write_raster(
            tmp_path / "lc.tif",
            codes,
            g,
            nodata=255,
            name="landcover",
            kind="categorical",
            scheme="igbp",
            cog=False,
        ),
        "dem": write_raster(
            tmp_path / "dem.tif",
            np.full((10, 10), dem_m, "float32"),
            g,
            nodata=-9999.0,
            name="dem",
            cog=False,
        ),
        "slope_deg": write_raster(
            tmp_path / "slope.tif",
            np.full((10, 10), 5.0, "float32"),
            g,
            nodata=-9999.0,
            name="slope_deg",
            cog=False,
        ),
    }
    boxes = [
        box(X0, Y1 - 5000, X0 + 5000, Y1),
        box(X0 + 5000, Y1 - 5000, X0 + 10_000, Y1),
        box(X0, Y1 - 10_000, X0 + 5000, Y1 - 5000),
        box(X0 + 5000, Y1 - 10_000, X0 + 10_000, Y1 - 5000),
    ]
    counties = gpd.GeoDataFrame(
        {
            "adcode": [140105, 140106, 140107, 140108],
            "name": ["小店区", "迎泽区", "杏花岭区", "尖草坪区"],
            "prefecture": ["太原市"] * 4,
            "prefecture_adcode": [140100] * 4,
        },
        geometry=boxes,
        crs=ALBERS_CHINA,
    )
    return g, rasters, validate_counties(counties, g)
