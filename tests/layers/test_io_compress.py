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


def _block_written(path, row, col):
    """Whether block (row, col) of band 1 has bytes in the file (GDAL's TIFF metadata)."""
    with rasterio.open(path) as src:
        return bool(src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1))


@pytest.mark.parametrize("dtype,nodata", [("float32", float("nan")), ("uint8", 255)])
def test_tile_files_skip_nodata_blocks_and_every_codec_gives_the_same_cog(
    tmp_path, rng, monkeypatch, dtype, nodata
):
    """The file a COG is copied from skips blocks of nodata (256 x 256: block (0, 0) here)
    and is uncompressed for floats, ZSTD for integers by default; the COG's bytes are the
    same whichever codec that file had, and so are the values."""
    import hashlib

    from sxplan.layers import io

    g = GridSpec.from_bounds((0, 0, 600, 520), 1)  # 3 x 3 blocks of 256
    a = (rng.random(g.shape) * 200).astype(dtype)
    a[:256, :256] = nodata  # one block of nodata only
    a[300, 400] = nodata  # and a nodata cell elsewhere
    seen = {}
    to_cog = io._to_cog

    def spy(src, dst, **kw):
        with rasterio.open(src) as s:
            seen["compress"] = s.compression.value.lower() if s.compression else None
            seen["predictor"] = s.profile.get("predictor")
        seen["written"] = [_block_written(src, 0, 0), _block_written(src, 1, 1)]
        return to_cog(src, dst, **kw)

    monkeypatch.setattr(io, "_to_cog", spy)
    digests = {}
    for codec in (None, "NONE", "ZSTD"):
        p = tmp_path / f"{codec}.tif"
        with RasterTileWriter(p, g, dtype, nodata, cog=True, compress=codec) as w:
            w.write(a[:, :300], Window(0, 0, 300, 520))
            w.write(a[:, 300:], Window(300, 0, 300, 520))
        default = "zstd" if dtype == "uint8" else None
        assert seen["compress"] == {None: default, "NONE": None, "ZSTD": "zstd"}[codec]
        assert seen["predictor"] in (None, 1)  # no predictor on a file read once
        assert seen["written"] == [False, True]  # the nodata block was skipped
        with rasterio.open(p) as src:
            np.testing.assert_array_equal(src.read(1), a)
            assert src.compression.value.lower() == "deflate"
        digests[codec] = hashlib.sha256(p.read_bytes()).hexdigest()
    assert len(set(digests.values())) == 1, digests
    assert sorted(q.name for q in tmp_path.iterdir()) == ["NONE.tif", "None.tif", "ZSTD.tif"]


def test_float_tile_files_are_compressed_only_on_a_short_disk(tmp_path):
    """Uncompressed when the disk has TILE_FILE_DISK_MARGIN (2) times the bytes free, else
    ZSTD; a folder not made yet is judged by the disk that will hold it."""
    import shutil

    from sxplan.layers.cog import TILE_FILE_DISK_MARGIN, float_tile_compress

    assert TILE_FILE_DISK_MARGIN == 2.0
    free = shutil.disk_usage(tmp_path).free
    assert float_tile_compress(tmp_path, free // 4) == "NONE"
    assert float_tile_compress(tmp_path / "not" / "yet", free // 4) == "NONE"
    assert float_tile_compress(tmp_path, free) == "ZSTD"
    assert float_tile_compress(tmp_path / "not" / "yet", 10 * free) == "ZSTD"
