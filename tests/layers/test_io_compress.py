"""RasterTileWriter codecs: same values whatever the codec; COG output stays DEFLATE."""

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from sxplan.errors import LayerIOError
from sxplan.layers import GridSpec
from sxplan.layers.io import RasterTileWriter


@pytest.mark.parametrize(
    "compress,cog,expected",
    [
        (None, False, "deflate"),
        ("ZSTD", False, "zstd"),
        ("none", False, None),
        (None, True, "deflate"),  # staged uncompressed, the COG itself is DEFLATE
    ],
)
def test_codecs_round_trip(tmp_path, rng, compress, cog, expected):
    g = GridSpec.from_bounds((0, 0, 300, 200), 10)
    a = rng.random(g.shape).astype("float32")
    p = tmp_path / "a.tif"
    with RasterTileWriter(p, g, "float32", float("nan"), cog=cog, compress=compress) as w:
        w.write(a[:, :17], Window(0, 0, 17, 20))
        w.write(a[:, 17:], Window(17, 0, 13, 20))
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(1), a)
        got = src.compression.value.lower() if src.compression else None
    assert got == expected
    assert [q.name for q in tmp_path.iterdir()] == ["a.tif"]  # no staging file left


def test_unknown_codec_is_refused(tmp_path):
    g = GridSpec.from_bounds((0, 0, 30, 20), 10)
    with pytest.raises(LayerIOError, match="DEFLATE, ZSTD or NONE"):
        RasterTileWriter(tmp_path / "a.tif", g, "uint8", compress="JPEG")
