"""clip_to_cog: fetched float layers get the floating-point predictor only where it pays."""

import numpy as np
import rasterio
from rasterio.transform import from_origin

from sxplan.fetch.rasters import clip_to_cog


def _tif(path, a):
    with rasterio.open(
        path, "w", driver="GTiff", width=a.shape[1], height=a.shape[0], count=1,
        dtype=a.dtype, crs="EPSG:4326", transform=from_origin(111.0, 38.0, 0.001, 0.001),
        nodata=np.nan,
    ) as dst:  # fmt: skip
        dst.write(a, 1)


def test_smooth_dem_gets_the_predictor_and_noise_does_not(tmp_path, rng):
    y, x = np.mgrid[0:600, 0:700]
    dem = (900 + 300 * np.sin(y / 90) * np.cos(x / 120) + 0.01 * x * y).astype("float32")
    noise = rng.random((600, 700), dtype="float32")
    box = (111.0, 37.4, 111.7, 38.0)
    for name, a, want in [("dem", dem, "3"), ("noise", noise, None)]:
        _tif(tmp_path / f"{name}_src.tif", a)
        out = clip_to_cog(
            [tmp_path / f"{name}_src.tif"], box, tmp_path / f"{name}.tif",
            kind="continuous", units="m",
        )  # fmt: skip
        with rasterio.open(out) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == want
            np.testing.assert_array_equal(src.read(1), a)
