"""Tiny synthetic worlds for siting tests, with answers derivable by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sxplan.layers.counties import validate_counties
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import write_raster


def _make_layers(
    tmp_path, grid, arrays: dict, kinds: dict | None = None, units=None, nodata=None, schemes=None
):
    """Write arrays as aligned GeoTIFFs and return {name: AlignedLayer}.

    A categorical ``landcover`` layer declares the IGBP scheme unless ``schemes`` says otherwise.
    """
    kinds = kinds or {}
    schemes = {"landcover": "igbp"} if schemes is None else schemes
    units = units or {}
    nodata = nodata or {}
    out = {}
    for name, arr in arrays.items():
        out[name] = write_raster(
            tmp_path / f"{name}.tif",
            np.asarray(arr),
            grid,
            nodata=nodata.get(name),
            name=name,
            units=units.get(name, ""),
            kind=kinds.get(name, "continuous"),
            scheme=schemes.get(name) if kinds.get(name) == "categorical" else None,
            cog=False,
        )
    return out


def _counties_frame(grid, parts):
    """Validated counties (as the layers step gives them) from [(adcode, name, ..., box)]."""
    gdf = gpd.GeoDataFrame(
        {
            "adcode": [p[0] for p in parts],
            "name": [p[1] for p in parts],
            "prefecture": [p[2] for p in parts],
            "prefecture_adcode": [p[3] for p in parts],
        },
        geometry=[p[4] for p in parts],
        crs=grid.pyproj_crs,
    )
    return validate_counties(gdf, grid)


@pytest.fixture
def grid10():
    """A 10 x 10 grid of 1 km cells (cell area 1 km2), origin (0, 0)."""
    return GridSpec.from_bounds((0, 0, 10_000, 10_000), 1000)


@pytest.fixture
def box():
    return shapely.box


@pytest.fixture(scope="session")
def make_layers():
    """``make_layers(tmp_path, grid, arrays, kinds=, units=, nodata=) -> {name: AlignedLayer}``."""
    return _make_layers


@pytest.fixture(scope="session")
def counties_frame():
    """``counties_frame(grid, [(adcode, name, prefecture, pref_adcode, geometry), ...])``."""
    return _counties_frame
