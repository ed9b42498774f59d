import numpy as np
import pytest
from rasterio.transform import from_origin

from _sxtest import write_tif
from sxplan.errors import (
    CRSError,
    CRSMismatchError,
    LayerIOError,
    NoOverlapError,
    UnknownCodeError,
)
from sxplan.layers import (
    GridSpec,
    RasterLayerSpec,
    VectorLayerSpec,
    align_raster,
    choose_resampling,
)


@pytest.mark.parametrize(
    "kind,src,grid,method",
    [
        ("categorical", 30, 1000, "mode"),
        ("categorical", 5000, 1000, "nearest"),
        ("categorical", 1000, 1000, "nearest"),
        ("continuous", 30, 1000, "average"),
        ("continuous", 5000, 1000, "bilinear"),
    ],
)
def test_resampling_follows_kind_and_relative_resolution(kind, src, grid, method):
    assert choose_resampling(kind, src, grid) == method


def grid_100():
    return GridSpec.from_bounds((0, 0, 800, 600), 100)


def test_finer_categorical_uses_mode_and_continuous_average(tmp_path):
    g = grid_100()
    # source at 25 m on the same CRS: each 100 m cell holds 4x4 source cells
    codes = np.full((24, 32), 10, "uint8")
    codes[0:4, 0:4] = 13
    codes[0, 0] = 10  # 15 of 16 cells are 13 -> mode 13
    codes[4:8, 0:4] = np.array([[12, 12, 12, 14]] * 4)  # 12 is the majority
    src = write_tif(tmp_path / "lc.tif", codes, from_origin(0, 600, 25, 25), g.crs, nodata=255)
    lc = align_raster(
        RasterLayerSpec(path=src, kind="categorical"), g, tmp_path / "lc_a.tif", name="lc"
    ).read(masked=False)
    assert lc[0, 0] == 13 and lc[1, 0] == 12 and lc[2, 2] == 10

    vals = np.arange(24 * 32, dtype="float32").reshape(24, 32)
    src = write_tif(tmp_path / "v.tif", vals, from_origin(0, 600, 25, 25), g.crs, nodata=-1.0)
    got = align_raster(
        RasterLayerSpec(path=src, kind="continuous"), g, tmp_path / "v_a.tif", name="v"
    ).read(masked=False)
    expected = vals.reshape(6, 4, 8, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_windowed_alignment_equals_single_tile(tmp_path, rng):
    g = GridSpec.from_bounds((0, 0, 3100, 2300), 100)
    vals = rng.normal(size=(70, 95)).astype("float32")
    src = write_tif(tmp_path / "s.tif", vals, from_origin(-120, 2410, 35, 35), g.crs)
    spec = RasterLayerSpec(path=src, kind="continuous")
    one = align_raster(spec, g, tmp_path / "one.tif", name="s").read(masked=False)
    many = align_raster(spec, g, tmp_path / "many.tif", name="s", tile_size=5).read(masked=False)
    np.testing.assert_array_equal(one, many)


def test_missing_crs_needs_override_and_conflicting_crs_is_refused(tmp_path):
    g = grid_100()
    src = write_tif(
        tmp_path / "nocrs.tif", np.ones((6, 8), "uint8"), from_origin(0, 600, 100, 100), None
    )
    with pytest.raises(CRSError, match=r"nocrs.tif\) has no CRS; set `crs:`"):
        align_raster(RasterLayerSpec(path=src, kind="categorical"), g, tmp_path / "o.tif", name="x")
    ok = align_raster(
        RasterLayerSpec(path=src, kind="categorical", crs=g.crs), g, tmp_path / "o.tif", name="x"
    )
    assert (ok.read(masked=False) == 1).all()
    src2 = write_tif(
        tmp_path / "utm.tif", np.ones((6, 8), "uint8"), from_origin(0, 600, 100, 100), "EPSG:32649"
    )
    with pytest.raises(CRSMismatchError, match="remove `crs:`"):
        align_raster(
            RasterLayerSpec(path=src2, kind="categorical", crs="EPSG:4326"),
            g,
            tmp_path / "p.tif",
            name="y",
        )


def test_missing_unreadable_and_non_overlapping_files(tmp_path):
    g = grid_100()
    with pytest.raises(LayerIOError, match="does not exist"):
        align_raster(
            RasterLayerSpec(path=tmp_path / "nope.tif", kind="continuous"),
            g,
            tmp_path / "o.tif",
            name="dem",
        )
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(LayerIOError, match="not a raster GDAL can read"):
        align_raster(
            RasterLayerSpec(path=bad, kind="continuous"), g, tmp_path / "o.tif", name="dem"
        )
    far = write_tif(
        tmp_path / "far.tif", np.ones((6, 8), "float32"), from_origin(1e6, 1e6, 100, 100), g.crs
    )
    with pytest.raises(NoOverlapError, match="does not overlap"):
        align_raster(
            RasterLayerSpec(path=far, kind="continuous"), g, tmp_path / "o.tif", name="dem"
        )
    assert not (tmp_path / "o.tif").exists()


def test_categorical_spec_refuses_interpolation():
    with pytest.raises(ValueError, match="invent class codes"):
        RasterLayerSpec(path="x.tif", kind="categorical", resampling="bilinear")


def _lc_source(tmp_path, codes):
    g = grid_100()
    src = write_tif(tmp_path / "lc.tif", codes, from_origin(0, 600, 100, 100), g.crs, nodata=255)
    return g, src


def test_aligned_layer_carries_the_scheme_declared_on_its_spec(tmp_path):
    codes = np.full((6, 8), 10, "uint8")
    codes[0, 0] = 255  # nodata is not a code
    g, src = _lc_source(tmp_path, codes)
    spec = RasterLayerSpec(path=src, kind="categorical", scheme="igbp")
    layer = align_raster(spec, g, tmp_path / "a.tif", name="landcover", tile_size=3)
    assert layer.scheme == "igbp"
    plain = RasterLayerSpec(path=src, kind="categorical")
    assert align_raster(plain, g, tmp_path / "b.tif", name="lc").scheme is None


def test_wrong_scheme_is_refused_when_aligned_naming_layer_file_scheme_codes_and_fix(tmp_path):
    codes = np.full((6, 8), 10, "uint8")  # 10 is IGBP grassland, WorldCover tree cover
    codes[5, 7] = 12  # IGBP cropland; not a WorldCover code
    codes[0, 0] = 17
    g, src = _lc_source(tmp_path, codes)
    spec = RasterLayerSpec(path=src, kind="categorical", scheme="worldcover")
    out = tmp_path / "lc_a.tif"
    with pytest.raises(UnknownCodeError) as err:
        align_raster(spec, g, out, name="landcover", tile_size=3)  # codes in different tiles
    msg = str(err.value)
    assert "layer 'landcover'" in msg and str(src) in msg
    assert "codes 12, 17 are not in the 'worldcover' land-cover scheme" in msg
    assert "set `scheme:` in `layers.landcover`" in msg and "codes present fit: igbp" in msg
    assert not out.exists()  # nothing half-written


def test_unknown_scheme_name_is_refused_in_the_spec():
    with pytest.raises(ValueError, match="scheme 'modis' is not known; use one of"):
        RasterLayerSpec(path="x.tif", kind="categorical", scheme="modis")


def test_build_stack_keeps_the_scheme_and_open_checks_codes(tmp_path):
    from sxplan.layers import AlignedLayer, build_stack

    codes = np.full((6, 8), 1, "uint8")
    g, src = _lc_source(tmp_path, codes)
    specs = {"landcover": RasterLayerSpec(path=src, kind="categorical", scheme="clcd")}
    stack = build_stack(specs, g, tmp_path / "stack", cog=False)
    assert stack.raster("landcover").scheme == "clcd"
    path = stack.raster("landcover").path
    again = AlignedLayer.open(path, "landcover", "categorical", "class", g, scheme="clcd")
    assert again.scheme == "clcd"
    codes[2, 2] = 99
    (tmp_path / "bad").mkdir()
    g, src = _lc_source(tmp_path / "bad", codes)
    with pytest.raises(UnknownCodeError, match="codes 99 are not in the 'igbp'"):
        AlignedLayer.open(src, "lc", "categorical", "class", g, scheme="igbp", mem_limit_mb=1)


def test_only_categorical_layers_carry_a_scheme(tmp_path):
    from sxplan.errors import ConfigError
    from sxplan.layers import write_raster

    g = grid_100()
    with pytest.raises(ConfigError, match="needs kind='categorical'"):
        write_raster(tmp_path / "v.tif", np.ones(g.shape, "uint8"), g, scheme="igbp")
    with pytest.raises(ValueError, match="applies only to categorical layers"):
        RasterLayerSpec(path="x.tif", kind="continuous", scheme="igbp")


def _stack_sources(tmp_path, bad_code=False):
    """Three rasters (continuous, categorical, continuous) and a vector, on a 100 m grid."""
    import geopandas as gpd
    import shapely

    g = grid_100()
    rng = np.random.default_rng(3)
    t = from_origin(0, 600, 50, 50)  # a finer source: averaged / mode-resampled
    codes = rng.choice(np.array([1, 10, 12], "uint8"), (12, 16))
    if bad_code:
        codes[4:6, 4:6] = 99  # a whole 100 m cell, so that the mode keeps it
    paths = {
        "dem": write_tif(tmp_path / "dem.tif", rng.random((12, 16), "float32") * 900, t, g.crs),
        "landcover": write_tif(tmp_path / "lc.tif", codes, t, g.crs, nodata=255),
        "ghi": write_tif(tmp_path / "ghi.tif", rng.random((12, 16), "float32") * 1500, t, g.crs),
    }
    gpd.GeoDataFrame(geometry=[shapely.box(100, 100, 500, 400)], crs=g.crs).to_file(
        tmp_path / "area.gpkg"
    )
    specs = {
        "dem": RasterLayerSpec(path=paths["dem"], kind="continuous", units="m"),
        "area": VectorLayerSpec(path=tmp_path / "area.gpkg"),
        "landcover": RasterLayerSpec(path=paths["landcover"], kind="categorical", scheme="igbp"),
        "ghi": RasterLayerSpec(path=paths["ghi"], kind="continuous"),
    }
    return g, specs


def test_stack_aligned_two_at_a_time_is_the_same_as_one_at_a_time(tmp_path):
    from sxplan.layers import build_stack
    from sxplan.layers.windows import use_scheduler

    g, specs = _stack_sources(tmp_path)
    stacks = {}
    for scheduler in ("sync", "threads"):
        with use_scheduler(scheduler):
            stacks[scheduler] = build_stack(specs, g, tmp_path / scheduler, cog=True)
    one, two = stacks["sync"], stacks["threads"]
    assert list(two.rasters) == list(one.rasters) == ["dem", "landcover", "ghi"]
    for name in one.rasters:
        assert one.raster(name).path.read_bytes() == two.raster(name).path.read_bytes()
    drop = [{k: v for k, v in r.items() if k != "seconds"} for r in one.provenance]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in two.provenance] == drop
    assert [r["name"] for r in one.provenance] == ["dem", "area", "landcover", "ghi"]
    assert len(two.vector("area")) == 1


def test_stack_raises_the_bad_layer_once_every_alignment_ended_and_leaves_no_part(tmp_path):
    from sxplan.layers import build_stack
    from sxplan.layers.windows import use_scheduler

    g, specs = _stack_sources(tmp_path, bad_code=True)
    out = tmp_path / "stack"
    with use_scheduler("threads"), pytest.raises(UnknownCodeError, match="codes 99"):
        build_stack(specs, g, out, cog=True)
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert "landcover.tif" not in left  # the refused layer left no file
    assert not [n for n in left if n.startswith(".") or n.endswith((".part", ".tmp"))]


def test_aligned_values_do_not_depend_on_the_budget(tmp_path):
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window

    from sxplan.layers import build_stack
    from sxplan.layers.align import WINDOW
    from sxplan.layers.windows import use_scheduler

    # a 0.01 degree lon/lat source, smooth but curved, onto a 30 m Albers grid: GDAL's
    # approximate transformer is fitted per window warped, so windows planned from the budget
    # (one 2,048-cell tile at 1 GB, 768-cell tiles at 16 MB) gave different values
    rows, cols = np.indices((100, 100), dtype="float64")
    z = (1000 + 300 * np.sin(rows / 7.0) * np.cos(cols / 5.0)).astype("float32")
    src = write_tif(tmp_path / "z.tif", z, from_origin(112.1, 39.0, 0.01, 0.01), "EPSG:4326")
    albers = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"
    g = GridSpec.from_bounds((620_000, 4_140_000, 620_000 + 2048 * 30, 4_140_000 + 2048 * 30), 30,
                             crs=albers)  # fmt: skip
    specs = {n: RasterLayerSpec(path=src, kind="continuous", units="m") for n in ("z", "z2")}
    got = {}
    for mb in (16, 1024):  # one alignment at a time, then two
        with use_scheduler("threads"):
            stack = build_stack(specs, g, tmp_path / f"s{mb}", mem_limit_mb=mb, cog=False)
        got[mb] = stack.raster("z").read(masked=False)
    assert np.isfinite(got[16]).mean() > 0.5  # the grid lies on the source
    np.testing.assert_array_equal(got[16], got[1024])
    # what GDAL gives for the first fixed window read alone, and not for the grid read whole
    opts = dict(crs=g.rasterio_crs, transform=g.transform, width=g.width, height=g.height,
                resampling=Resampling.bilinear, nodata=float("nan"), warp_mem_limit=64)  # fmt: skip
    with rasterio.open(src) as s, WarpedVRT(s, **opts) as vrt:
        first = vrt.read(1, window=Window(0, 0, WINDOW, WINDOW))
        whole = vrt.read(1, window=Window(0, 0, g.width, g.height))
    np.testing.assert_array_equal(got[16][:WINDOW, :WINDOW], first)
    assert not np.array_equal(got[16], whole, equal_nan=True)


_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"


def _exact_windows(src_path, g, tiles, method, nodata):
    """The grid read window by window through GDAL's warp with a destination nodata."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    opts = dict(crs=g.rasterio_crs, transform=g.transform, width=g.width, height=g.height,
                resampling=Resampling[method], nodata=nodata, warp_mem_limit=64)  # fmt: skip
    out = None
    with rasterio.open(src_path) as s, WarpedVRT(s, **opts) as vrt:
        for t in tiles:
            a = vrt.read(1, window=t.window)
            if out is None:
                out = np.empty((g.height, g.width), a.dtype)
            out[t.window.row_off : t.window.row_off + a.shape[0],
                t.window.col_off : t.window.col_off + a.shape[1]] = a  # fmt: skip
    return out


@pytest.mark.parametrize(
    "dtype,nodata,kind",
    [
        ("float32", float("nan"), "continuous"),
        ("float32", -9999.0, "continuous"),
        ("float32", 0.1, "continuous"),  # not a float32: cells hold float32(0.1)
        ("float32", float("-inf"), "continuous"),
        ("int16", -32768, "continuous"),
        ("uint8", 255, "categorical"),
        ("uint8", None, "categorical"),  # no nodata: 255, the default, is also a value here
    ],
)
def test_alignment_gives_gdals_warp_with_a_destination_nodata(tmp_path, dtype, nodata, kind):
    import rasterio
    from rasterio.vrt import WarpedVRT

    from sxplan.layers.align import _init_dest, _unwritten_or_nodata
    from sxplan.layers.windows import plan_tiles

    # a 0.01 degree source onto a 30 m Albers grid that runs past the source's east edge,
    # with missing cells inside; the windows fully inside are warped the quick way (no
    # destination nodata), the others must come back from the exact warp
    rows, cols = np.indices((60, 60), dtype="float64")
    z = 100 + 80 * np.sin(rows / 7.0) * np.cos(cols / 5.0)
    z = z.astype(dtype)
    if nodata is not None:
        z[36:39, 48:52] = nodata
    else:
        z[36:38, 48:50] = 255
    src = write_tif(tmp_path / "z.tif", z, from_origin(112.1, 39.0, 0.01, 0.01), "EPSG:4326",
                    nodata=nodata)  # fmt: skip
    x0, y0 = 652_000, 4_160_000
    g = GridSpec.from_bounds((x0, y0, x0 + 256 * 30, y0 + 192 * 30), 30, crs=_ALBERS)
    spec = RasterLayerSpec(path=src, kind=kind, units="u")
    got = align_raster(spec, g, tmp_path / "a.tif", name="z", tile_size=64).read(masked=False)
    out_nodata = (float("nan") if dtype == "float32" else 255) if nodata is None else nodata
    method = "bilinear" if kind == "continuous" else "nearest"
    tiles = plan_tiles(g, tile_size=64)
    # (rasterio warps in float64 where the nodata is not a float32, as 0.1; written as float32)
    want = _exact_windows(src, g, tiles, method, out_nodata).astype(got.dtype)

    # the test covers both ways: some windows are taken from the quick warp, some are not
    opts = dict(crs=g.rasterio_crs, transform=g.transform, width=g.width, height=g.height,
                resampling=rasterio.enums.Resampling[method], nodata=None,
                init_dest_nodata=False, warp_mem_limit=64)  # fmt: skip
    opts["INIT_DEST"] = _init_dest(dtype, out_nodata)
    with rasterio.open(src) as s, WarpedVRT(s, **opts) as quick:
        kept = [not _unwritten_or_nodata(quick.read(1, window=t.window), out_nodata) for t in tiles]
    assert 0 < sum(kept) < len(kept)

    nd = want.dtype.type(out_nodata)
    missing = np.isnan(want) if np.isnan(nd) else want == nd
    assert missing.any() and not missing.all()
    got_missing = np.isnan(got) if np.isnan(nd) else got == nd
    np.testing.assert_array_equal(got_missing, missing)
    if dtype == "float32":
        # GDAL's kernel without a destination mask can round a bilinear value one unit in the
        # last place apart (1 cell of 280 M on the 30 m demo, benchmarks/README.md)
        np.testing.assert_array_max_ulp(got[~missing], want[~missing], maxulp=1)
    else:
        np.testing.assert_array_equal(got, want)


def test_cells_the_quick_warp_leaves_never_read_as_values(tmp_path):
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    from sxplan.layers.align import _init_dest, _unwritten_or_nodata

    # GDAL reads INIT_DEST as a number: "nan" would give 0, a value; +inf sends the window back
    z = np.ones((10, 10), "float32")
    src = write_tif(tmp_path / "z.tif", z, from_origin(0, 1000, 100, 100), "EPSG:32649",
                    nodata=float("nan"))  # fmt: skip
    g = GridSpec.from_bounds((500, 0, 1500, 1000), 50, crs="EPSG:32649")  # half off the source
    for dtype, nodata, sent in (("float32", float("nan"), np.inf), ("int16", -32768, -32768)):
        opts = dict(crs=g.rasterio_crs, transform=g.transform, width=g.width, height=g.height,
                    resampling=Resampling.bilinear, nodata=None, init_dest_nodata=False,
                    dtype=dtype)  # fmt: skip
        opts["INIT_DEST"] = _init_dest(dtype, nodata)
        with rasterio.open(src) as s, WarpedVRT(s, **opts) as quick:
            a = quick.read(1)
        assert (a[:, -5:] == sent).all() and (a[:, :5] == 1).all()
        assert _unwritten_or_nodata(a, nodata)
