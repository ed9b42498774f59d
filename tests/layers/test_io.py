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


def test_scheme_check_reads_bounded_tiles_under_any_budget(tmp_path, monkeypatch):
    # the check's tiles are capped (SCHEME_CHECK_MB) however large the budget, and still
    # cover every cell: the one unknown code, in the last cell, is found
    from sxplan.errors import UnknownCodeError
    from sxplan.layers import io as layers_io

    g = GridSpec.from_bounds((0, 0, 600 * 30, 520 * 30), 30)
    codes = np.full(g.shape, 12, dtype="uint8")
    codes[-1, -1] = 99
    layer = write_raster(tmp_path / "lc.tif", codes, g, nodata=255, name="lc", units="class",
                         kind="categorical", cog=False)  # fmt: skip
    windows = []
    read_valid = AlignedLayer.read_valid

    def spy(self, window=None):
        windows.append(window)
        return read_valid(self, window)

    monkeypatch.setattr(AlignedLayer, "read_valid", spy)
    monkeypatch.setattr(layers_io, "SCHEME_CHECK_MB", 1.0)  # 65,536 cells at 16 B: 256 x 256
    with pytest.raises(UnknownCodeError, match="codes 99 are not in the 'igbp'"):
        AlignedLayer.open(layer.path, "lc", "categorical", "class", g, scheme="igbp",
                          mem_limit_mb=1e6)  # fmt: skip
    assert max(w.width * w.height for w in windows) == 256 * 256
    assert sum(w.width * w.height for w in windows) == g.n_cells
