"""The floating-point predictor of float COGs: chosen where it pays, never changing a value."""

import zlib

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from sxplan.layers import GridSpec
from sxplan.layers import cog as cog_module
from sxplan.layers.cog import _fp_predicted, float_predictor
from sxplan.layers.io import RasterTileWriter


def _smooth(shape):
    """A field like a layer resampled from a coarse source: smooth, with NaN nodata."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    a = (1400 + 50 * np.sin(y / 40) + 30 * np.cos(x / 55) + x * y / 9e3).astype("float32")
    a[:40, :60] = np.nan
    return a


def _write_cog(path, grid, a):
    with RasterTileWriter(path, grid, "float32", float("nan"), cog=True) as w:
        for r in range(0, a.shape[0], 256):  # several tiles, as a run writes them
            w.write(a[r : r + 256], Window(0, r, a.shape[1], min(256, a.shape[0] - r)))


def _predictor(path):
    with rasterio.open(path) as src:
        return src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR")


def _levels(path):
    """Every band and overview level of ``path`` as raw bits."""
    out = []
    with rasterio.open(path) as src:
        n = len(src.overviews(1))
    for k in [None, *range(n)]:
        kw = {} if k is None else {"overview_level": k}
        with rasterio.open(path, **kw) as src:
            out.append(src.read(1).view("uint32"))
    return out


def test_smooth_float_cog_gets_the_predictor_with_the_same_values_and_levels(tmp_path, monkeypatch):
    g = GridSpec.from_bounds((0, 0, 30 * 700, 30 * 600), 30)
    a = _smooth(g.shape)
    _write_cog(tmp_path / "with.tif", g, a)
    monkeypatch.setattr(cog_module, "PREDICTOR_MAX_SHARE", 0.0)  # never chosen
    _write_cog(tmp_path / "without.tif", g, a)
    assert _predictor(tmp_path / "with.tif") == "3"
    assert _predictor(tmp_path / "without.tif") is None
    with rasterio.open(tmp_path / "with.tif") as src:
        np.testing.assert_array_equal(src.read(1), a)  # NaN where a is NaN
        assert len(src.overviews(1)) >= 1
    # every overview level the same bits: only the file's coding changed
    for x, y in zip(_levels(tmp_path / "with.tif"), _levels(tmp_path / "without.tif"), strict=True):
        np.testing.assert_array_equal(x, y)
    assert (tmp_path / "with.tif").stat().st_size < 0.6 * (tmp_path / "without.tif").stat().st_size


def test_noisy_float_cog_gets_no_predictor(tmp_path, rng):
    g = GridSpec.from_bounds((0, 0, 30 * 400, 30 * 300), 30)
    a = (rng.random(g.shape) * 90).astype("float32")  # like slope or aspect at 30 m
    _write_cog(tmp_path / "a.tif", g, a)
    assert _predictor(tmp_path / "a.tif") is None
    with rasterio.open(tmp_path / "a.tif") as src:
        np.testing.assert_array_equal(src.read(1), a)


def test_integer_and_categorical_cogs_get_no_predictor(tmp_path):
    g = GridSpec.from_bounds((0, 0, 30 * 400, 30 * 300), 30)
    ramp = np.add.outer(np.arange(300), np.arange(400)).astype("int16")  # smooth, but not float
    for kind, dtype, a in [("continuous", "int16", ramp), ("categorical", "uint8", ramp % 7)]:
        p = tmp_path / f"{kind}.tif"
        with RasterTileWriter(p, g, dtype, 0, cog=True, kind=kind) as w:
            w.write(a.astype(dtype), Window(0, 0, 400, 300))
        assert _predictor(p) is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predicted_bytes_are_libtiffs(tmp_path, dtype):
    """The sample is compressed as libtiff codes it: a tile of a PREDICTOR=3 GeoTIFF, inflated,
    is _fp_predicted of that tile's values."""
    a = _smooth((256, 256)).astype(dtype)
    a[np.isnan(a)] = -1.5
    p = tmp_path / "p.tif"
    profile = dict(
        driver="GTiff", width=256, height=256, count=1, dtype=dtype, tiled=True,
        blockxsize=256, blockysize=256, compress="DEFLATE", predictor=3,
        transform=rasterio.transform.from_origin(0, 256, 1, 1),
    )  # fmt: skip
    with rasterio.open(p, "w", **profile) as dst:
        dst.write(a, 1)
    with rasterio.open(p) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
        size = int(src.get_tag_item("BLOCK_SIZE_0_0", "TIFF", bidx=1))
    with open(p, "rb") as f:
        f.seek(offset)
        coded = zlib.decompress(f.read(size))
    assert coded == _fp_predicted(a).tobytes()


def test_choice_depends_only_on_the_values(tmp_path):
    g = GridSpec.from_bounds((0, 0, 30 * 500, 30 * 400), 30)
    a = _smooth(g.shape)
    _write_cog(tmp_path / "a.tif", g, a)
    _write_cog(tmp_path / "b.tif", g, a)
    assert float_predictor(tmp_path / "a.tif") == 3
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_the_environment_turns_the_predictor_off_and_a_typo_is_refused(tmp_path, monkeypatch):
    from sxplan.errors import ConfigError

    g = GridSpec.from_bounds((0, 0, 30 * 500, 30 * 400), 30)
    a = _smooth(g.shape)
    monkeypatch.setenv(cog_module.PREDICTOR_ENV, "none")
    _write_cog(tmp_path / "a.tif", g, a)
    assert _predictor(tmp_path / "a.tif") is None
    with rasterio.open(tmp_path / "a.tif") as src:
        np.testing.assert_array_equal(src.read(1), a)
    monkeypatch.setenv(cog_module.PREDICTOR_ENV, "off")
    with pytest.raises(ConfigError, match="SXPLAN_FLOAT_PREDICTOR='off': use 'none'"):
        _write_cog(tmp_path / "b.tif", g, a)
    assert not list(tmp_path.glob("b*")) and not list(tmp_path.glob(".*"))  # nothing left
