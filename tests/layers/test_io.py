import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from sxplan.errors import CRSError
from sxplan.layers import (
    GridSpec,
    RasterTileWriter,
    atomic_path,
    write_csv,
    write_gpkg,
    write_gpkg_layers,
    write_raster,
)
from sxplan.layers.io import AlignedLayer


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_tile_writer_failure_leaves_no_file(tmp_path):
    g = GridSpec.from_bounds((0, 0, 40, 40), 10)
    with pytest.raises(ValueError), RasterTileWriter(tmp_path / "x.tif", g, "uint8", 0) as w:
        w.write(np.ones((2, 2), "uint8"), rasterio.windows.Window(0, 0, 2, 2))
        raise ValueError("stop")
    assert list(tmp_path.iterdir()) == []


def test_write_raster_cog_round_trip(tmp_path):
    g = GridSpec.from_bounds((0, 0, 600 * 30, 500 * 30), 30)
    arr = np.ma.MaskedArray(np.arange(g.n_cells, dtype="float32").reshape(g.shape))
    arr[0, 0] = np.ma.masked
    layer = write_raster(tmp_path / "a.tif", arr, g, nodata=-1.0, name="a", units="m")
    with rasterio.open(layer.path) as src:
        assert src.profile["tiled"] and src.crs is not None
        assert src.compression is not None
        assert src.overviews(1), "a COG has internal overviews"
        assert src.tags()["SXPLAN_KIND"] == "continuous"
    back = layer.read()
    assert back.mask[0, 0] and back[0, 1] == 1.0 and back[-1, -1] == g.n_cells - 1
    again = AlignedLayer.open(layer.path, "a", "continuous", "m", g)
    assert again.nodata == -1.0


def test_write_csv_has_bom_and_chinese(tmp_path):
    p = write_csv(pd.DataFrame({"name": ["太原市"], "area_km2": [1.5]}), tmp_path / "t.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "太原市" in raw.decode("utf-8-sig")


def test_write_gpkg_requires_crs_and_writes_layers(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)])
    with pytest.raises(CRSError, match="without a CRS"):
        write_gpkg(gdf, tmp_path / "x.gpkg", "pts")
    assert not (tmp_path / "x.gpkg").exists()
    gdf = gdf.set_crs("EPSG:4326")
    write_gpkg_layers({"one": gdf, "two": gdf}, tmp_path / "y.gpkg")
    import pyogrio

    assert sorted(pyogrio.list_layers(tmp_path / "y.gpkg")[:, 0]) == ["one", "two"]
