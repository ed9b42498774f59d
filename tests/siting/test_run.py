"""run_siting end to end on a 10 x 10 km world whose every number can be worked out by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from sxplan.errors import ConfigError
from sxplan.siting.bases import Base, BasesTable
from sxplan.siting.capacity import HOURS_PER_YEAR, wind_cf_table
from sxplan.siting.config import WindEnergyConfig
from sxplan.siting.exclusions import OUTSIDE_CODE
from sxplan.siting.run import run_siting

CFG = {
    "shortlist_top_n": 5,
    "exclusions": [
        {"name": "quarter", "label_zh": "西北角", "type": "vector", "layer": "q"},
        {"name": "soft_steep", "type": "range", "layer": "slope_pct", "above": 50,
         "mode": "soft", "score_factor": 0.5},
    ],
    "pv": {
        "criteria": [{"name": "ghi_kwh_m2_yr", "layer": "ghi",
                      "transform": {"type": "linear", "x0": 1000, "x1": 2000}}],
        "weights": {"ghi_kwh_m2_yr": 1.0},
        "score_threshold": 0.5, "max_parcel_area_km2": 100,
        "capacity": {"density_mw_per_km2": 36, "usable_share": 0.5},
    },
    "wind": {
        "criteria": [{"name": "wind_proxy_ms", "layer": "wind_proxy",
                      "transform": {"type": "linear", "x0": 4, "x1": 8}}],
        "weights": {"wind_proxy_ms": 1.0},
        "score_threshold": 0.5, "min_parcel_area_km2": 5, "max_parcel_area_km2": 20,
    },
}  # fmt: skip


@pytest.fixture
def world(tmp_path, grid10, make_layers, counties_frame):
    h, w = grid10.shape
    rasters = make_layers(
        tmp_path / "in" if (tmp_path / "in").mkdir() is None else None,
        grid10,
        {
            "slope_pct": np.full((h, w), 2.0, "float32"),
            "landcover": np.full((h, w), 10, "uint8"),
            "ghi": np.full((h, w), 1500.0, "float32"),
            "pv_yield": np.full((h, w), 1400.0, "float32"),
            "wind_proxy": np.full((h, w), 6.0, "float32"),
        },
        kinds={"landcover": "categorical"},
        units={"slope_pct": "percent", "ghi": "kWh/m2/yr", "pv_yield": "kWh/kWp/yr",
               "wind_proxy": "m/s"},
        nodata={"landcover": 255},
    )  # fmt: skip
    quarter = gpd.GeoDataFrame(geometry=[shapely.box(0, 5000, 5000, 10_000)], crs=grid10.crs)
    hw = gpd.GeoDataFrame(geometry=[shapely.LineString([(9500, 0), (9500, 10_000)])],
                          crs=grid10.crs)  # fmt: skip
    counties = counties_frame(grid10, [
        (140101, "甲县", "太原市", 140100, shapely.box(0, 0, 5000, 10_000)),
        (140202, "乙县", "大同市", 140200, shapely.box(5000, 0, 10_000, 10_000)),
    ])  # fmt: skip
    bases = BasesTable((
        Base(id="north", name_zh="北基地", name_en="North", counties=[140202],
             target_gw_2030=1.0),
        Base(id="both", name_zh="两县基地", name_en="Both", counties=[140101, 140202]),
    ))  # fmt: skip
    return grid10, rasters, {"q": quarter, "highways": hw}, counties, bases


def _run(world, out, **kw):
    grid, rasters, vectors, counties, bases = world
    return run_siting(grid, rasters, vectors, counties, bases, CFG, out, cog=False, **kw)


def test_known_answers(world, tmp_path):
    res = _run(world, tmp_path / "out")
    pv, wind = res.techs["pv"], res.techs["wind"]
    # Exclusion: the north-west quarter (25 cells of 1 km2) -> 75 km2 eligible.
    assert pv.study_km2 == 100 and pv.eligible_km2 == 75
    ex = res.exclusions[res.exclusions.technology == "pv"].set_index("rule")
    assert ex.loc["quarter", "km2_in_sequence"] == 25 and ex.loc["soft_steep", "km2_alone"] == 0
    assert ex.loc["total_excluded", "km2_in_sequence"] == 25
    hard = ex[(ex["mode"] == "hard")]["km2_in_sequence"].sum()
    assert hard == ex.loc["total_excluded", "km2_in_sequence"]
    # Score: (1500 - 1000) / 1000 = 0.5 everywhere (weight 1) -> all candidates.
    assert pv.weights == {"ghi_kwh_m2_yr": 1.0}
    p = pv.parcels
    assert len(p) == 1 and p.loc[0, "area_km2"] == 75
    assert p.loc[0, "score_mean"] == pytest.approx(0.5)
    # Capacity 75 x 36 x 0.5 = 1350 MW; energy 1350 MW x 1400 kWh/kWp / 1000 = 1890 GWh.
    assert p.loc[0, "capacity_mw"] == pytest.approx(1350)
    assert p.loc[0, "energy_gwh_per_yr"] == pytest.approx(1890)
    # 50 of its 75 cells lie in 乙县 (east half), 25 in 甲县.
    assert p.loc[0, "adcode"] == 140202 and p.loc[0, "county"] == "乙县"
    assert p.loc[0, "county_share"] == pytest.approx(2 / 3)
    assert p.loc[0, "bases"] == "both;north" and p.loc[0, "lc_grass_share"] == 1.0
    assert p.loc[0, "mean_slope_pct"] == 2.0 and p.loc[0, "mean_ghi_kwh_m2_yr"] == 1500
    # nearest highway at x = 9500: the parcel reaches x = 10,000, so distance 0
    assert p.loc[0, "dist_highway_km"] == 0
    # Wind: 4 x 4-cell blocks (floor(sqrt(20)) = 4); pieces of the L-shaped region are
    # 12, 8, 12, 15, 8, 8, 8 and 4 cells; the 4-cell corner (rows 8-9, cols 8-9) ties on 4
    # contacts with the pieces above and to the left and joins the one whose first cell comes
    # first (row 4, col 8): 7 parcels of 15, 12, 12, 12, 8, 8, 8 km2.
    assert sorted(wind.parcels["area_km2"], reverse=True) == [15, 12, 12, 12, 8, 8, 8]
    cf = float(wind_cf_table(WindEnergyConfig())(np.array([6.0]))[0])
    w0 = wind.parcels.iloc[0]
    assert w0["capacity_mw"] == pytest.approx(15 * 3)
    assert w0["energy_gwh_per_yr"] == pytest.approx(45 * cf * HOURS_PER_YEAR / 1000, rel=1e-5)
    assert w0["capacity_factor"] == pytest.approx(cf, rel=1e-5)
    # Bases: north holds 乙县 only -> 2/3 of the PV parcel = 0.9 GW; union counts it once.
    b = res.bases.set_index(["id", "technology"])
    assert b.loc[("north", "pv"), "potential_gw"] == pytest.approx(0.9)
    assert b.loc[("both", "pv"), "potential_gw"] == pytest.approx(1.35)
    assert b.loc[("all_bases", "pv"), "potential_gw"] == pytest.approx(1.35)
    assert b.loc[("north", "pv"), "eligible_km2"] == 50
    assert b.loc[("north", "pv+wind"), "target_gw_2030"] == 1.0
    assert b.loc[("province", "pv+wind"), "target_gw_2030"] == 120
    pref = res.bases[(res.bases.level == "prefecture") & (res.bases.technology == "pv")]
    assert pref["potential_gw"].sum() == pytest.approx(1.35)  # prefectures do not overlap
    # Shortlist: ranked per technology, lon/lat inside the parcel.
    sl = res.shortlist
    assert list(sl["technology"].unique()) == ["pv", "wind"] and (sl["rank"] <= 5).all()
    assert sl.iloc[0]["parcel_id"] == "PV-00001" and sl.iloc[0]["technology_zh"] == "光伏"
    assert "WIND-00001" in set(sl["parcel_id"])
    assert "乙县" in res.format_summary()


def test_outputs_written(world, tmp_path):
    out = tmp_path / "out"
    res = _run(world, out)
    names = {p.name for p in out.iterdir()}
    for tech in ("pv", "wind"):
        for n in (
            f"suitability_{tech}.tif",
            f"excluded_by_rule_{tech}.tif",
            f"excluded_by_rule_{tech}.csv",
            f"parcels_{tech}.gpkg",
        ):
            assert n in names
    for n in ("shortlist.csv", "shortlist.gpkg", "bases.csv", "exclusions.csv"):
        assert n in names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    raw = (out / "shortlist.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "乙县".encode() in raw
    sl = pd.read_csv(out / "shortlist.csv", encoding="utf-8-sig")
    pts = gpd.points_from_xy(sl["lon"], sl["lat"], crs="EPSG:4326")
    parcels = gpd.read_file(out / "shortlist.gpkg")
    assert parcels.crs.to_epsg() == 4326
    assert all(parcels.geometry.iloc[i].buffer(1e-9).contains(pts[i]) for i in range(len(sl)))
    with rasterio.open(out / "excluded_by_rule_pv.tif") as src:
        code = src.read(1)
        assert src.nodata == OUTSIDE_CODE
    assert (code[:5, :5] == 1).all() and (code == 0).sum() == 75
    with rasterio.open(out / "suitability_pv.tif") as src:
        s = src.read(1)
    assert np.isnan(s[:5, :5]).all() and np.allclose(s[5:, :], 0.5)
    legend = pd.read_csv(out / "excluded_by_rule_pv.csv", encoding="utf-8-sig")
    assert legend.set_index("code").loc[1, "rule"] == "quarter"
    assert res.outputs["bases"] == out / "bases.csv"


def test_windowed_equals_whole(world, tmp_path):
    a = _run(world, tmp_path / "a")
    b = _run(world, tmp_path / "b", tile_size=3, scheduler="threads")
    for tech in ("pv", "wind"):
        pd.testing.assert_frame_equal(a.techs[tech].parcels, b.techs[tech].parcels)
        pa, pb = (r.techs[tech].parcels_with_outlines() for r in (a, b))
        assert list(pa["parcel_id"]) == list(a.techs[tech].parcels["parcel_id"])
        assert all(pa.geometry.geom_equals(pb.geometry))
        for f in (f"suitability_{tech}.tif", f"excluded_by_rule_{tech}.tif"):
            with rasterio.open(tmp_path / "a" / f) as x, rasterio.open(tmp_path / "b" / f) as y:
                np.testing.assert_array_equal(x.read(1), y.read(1))
    pd.testing.assert_frame_equal(a.bases, b.bases)


def test_installed_capacity_and_bad_inputs(world, tmp_path):
    inst = pd.DataFrame({"adcode": [140202], "technology": ["pv"], "capacity_mw": [500.0]})
    res = _run(world, tmp_path / "out", installed=inst, techs=["pv"])
    b = res.bases.set_index(["id", "technology"])
    assert b.loc[("north", "pv"), "installed_gw"] == 0.5
    assert set(res.techs) == {"pv"}
    grid, rasters, vectors, counties, bases = world
    with pytest.raises(ConfigError, match=r"lack columns \['prefecture'\]"):
        run_siting(grid, rasters, vectors, counties.drop(columns="prefecture"), bases, CFG,
                   tmp_path / "x")  # fmt: skip
    raw = gpd.GeoDataFrame(counties.drop(columns="geometry"), geometry=counties.geometry)
    raw.attrs.clear()
    with pytest.raises(ConfigError, match="were not validated; pass the county layer through"):
        run_siting(grid, rasters, vectors, raw, bases, CFG, tmp_path / "w")
    bad = BasesTable((Base(id="x", name_zh="x", name_en="x", counties=[149999]),), path="b.yaml")
    with pytest.raises(ConfigError, match="149999"):
        run_siting(grid, rasters, vectors, counties, bad, CFG, tmp_path / "y")
    with pytest.raises(ConfigError, match="unknown technology"):
        _run(world, tmp_path / "z", techs=["solar"])


def test_summary_and_installed_csv(world, tmp_path):
    import json

    csv = tmp_path / "installed.csv"
    csv.write_text("adcode,technology,capacity_mw\n140202,wind,300\n140101,wind,100\n", "utf-8")
    cfg = dict(CFG, installed_capacity_path=str(csv))
    grid, rasters, vectors, counties, bases = world
    res = run_siting(grid, rasters, vectors, counties, bases, cfg, tmp_path / "o", cog=False)
    b = res.bases.set_index(["id", "technology"])
    assert b.loc[("north", "wind"), "installed_gw"] == pytest.approx(0.3)
    assert b.loc[("province", "pv+wind"), "installed_gw"] == pytest.approx(0.4)
    s = res.summary()
    json.dumps(s)
    assert s["technologies"]["pv"]["potential_gw"] == pytest.approx(1.35)
    assert s["technologies"]["wind"]["parcels"] == 7


def _assert_same_outputs(a, b):
    """Every file of two siting output folders holds the same data, bit for bit."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {n.rsplit(".", 1)[1] for n in names} == {"tif", "csv", "gpkg", "xml"}  # xml: .aux.xml
    for n in names:
        if n.endswith(".tif"):
            with rasterio.open(a / n) as x, rasterio.open(b / n) as y:
                np.testing.assert_array_equal(x.read(1), y.read(1))
                px, py = dict(x.profile), dict(y.profile)
                nx, ny = px.pop("nodata"), py.pop("nodata")
                assert px == py and (nx == ny or (np.isnan(nx) and np.isnan(ny)))
        elif n.endswith((".csv", ".aux.xml")):
            assert (a / n).read_bytes() == (b / n).read_bytes(), n
        else:  # GeoPackages carry timestamps: compare attributes and exact geometry (WKB)
            fa, fb = gpd.read_file(a / n), gpd.read_file(b / n)
            pd.testing.assert_frame_equal(fa.drop(columns="geometry"), fb.drop(columns="geometry"))
            assert fa.crs == fb.crs
            assert list(fa.geometry.to_wkb()) == list(fb.geometry.to_wkb()), n


def test_dask_processes_match_sync(world, tmp_path):
    # windows as tasks on a LocalCluster of two single-threaded worker processes
    from dask.distributed import get_client

    from sxplan.layers.windows import use_scheduler

    a = _run(world, tmp_path / "a", tile_size=4)
    with use_scheduler("processes", n_workers=2):
        assert len(get_client().scheduler_info()["workers"]) == 2
        b = _run(world, tmp_path / "b", tile_size=4)
    _assert_same_outputs(tmp_path / "a", tmp_path / "b")
    for tech in ("pv", "wind"):
        pd.testing.assert_frame_equal(a.techs[tech].parcels, b.techs[tech].parcels)
    pd.testing.assert_frame_equal(a.exclusions, b.exclusions)
    pd.testing.assert_frame_equal(a.bases, b.bases)
    pd.testing.assert_frame_equal(a.shortlist, b.shortlist)


def test_a_criterion_shared_by_two_technologies_is_written_once_and_copied(world, tmp_path):
    """The same distance criterion in PV and wind: one computation, two identical files, with
    the values by hand: the highway runs through column 9 (cell centres 1 km apart), so the
    score 1 - d / 3 km is 1, 2/3, 1/3 in columns 9, 8, 7 and 0 further west."""
    import copy

    grid, rasters, vectors, counties, bases = world
    cfg = copy.deepcopy(CFG)
    near = {"name": "near_highway", "distance_to": "highways", "max_distance_m": 3000,
            "transform": {"type": "linear", "x0": 3000, "x1": 0}}  # fmt: skip
    for tech, first in (("pv", "ghi_kwh_m2_yr"), ("wind", "wind_proxy_ms")):
        cfg[tech]["criteria"].append(dict(near))
        cfg[tech]["weights"] = {first: 0.5, "near_highway": 0.5}
    out = tmp_path / "out"
    run_siting(grid, rasters, vectors, counties, bases, cfg, out, cog=False)
    pv, wind = out / "criterion_pv_near_highway.tif", out / "criterion_wind_near_highway.tif"
    assert pv.read_bytes() == wind.read_bytes()
    with rasterio.open(wind) as src:
        got = src.read(1)
    want = np.zeros(grid.shape, "float32")
    want[:, 9], want[:, 8], want[:, 7] = 1.0, 2 / 3, 1 / 3
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert not list(out.glob(".*"))  # no temporary copy left


def test_without_criterion_rasters_every_other_output_is_the_same(world, tmp_path):
    """``criterion_rasters: false`` leaves out exactly the criterion rasters: the other files
    (COGs) are the same bit for bit, and the parcels keep their crit_/score_ columns (from the
    pass, not the rasters)."""
    grid, rasters, vectors, counties, bases = world
    a, b = tmp_path / "a", tmp_path / "b"
    ra = run_siting(grid, rasters, vectors, counties, bases, CFG, a, cog=True)
    rb = run_siting(grid, rasters, vectors, counties, bases, {**CFG, "criterion_rasters": False},
                    b, cog=True)  # fmt: skip
    gone = sorted(p.name for p in a.iterdir() if p.name.startswith("criterion_"))
    assert gone == ["criterion_pv_ghi_kwh_m2_yr.tif", "criterion_wind_wind_proxy_ms.tif"]
    assert not list(b.glob("criterion_*")) and not list(b.glob(".*"))
    assert sorted(k for k in ra.outputs if k.startswith("criterion_")) == [
        "criterion_pv_ghi_kwh_m2_yr", "criterion_wind_wind_proxy_ms"
    ]  # fmt: skip
    assert not any(k.startswith("criterion_") for k in rb.outputs)
    for name in gone:
        (a / name).unlink()
    _assert_same_outputs(a, b)
    for tech in ("pv", "wind"):
        pd.testing.assert_frame_equal(ra.techs[tech].parcels, rb.techs[tech].parcels)
    assert "crit_ghi_kwh_m2_yr" in rb.techs["pv"].parcels.columns


def test_rules_applying_record_is_the_smallest_type_with_every_rule_bit(world, tmp_path):
    """Two rules fit a uint8 record: bit 1 = the vector quarter (north-west 5 x 5 km), bit 2
    = the soft slope rule (no cell is steeper than 50 %)."""
    grid = world[0]
    _run(world, tmp_path / "out")
    with rasterio.open(tmp_path / "out" / "rules_applying_pv.tif") as src:
        bits = src.read(1)
        assert src.dtypes[0] == "uint8"
    rows, cols = np.indices(grid.shape)
    y = grid.transform.f + (rows + 0.5) * grid.transform.e
    x = grid.transform.c + (cols + 0.5) * grid.transform.a
    quarter = (x < 5000) & (y > 5000)
    np.testing.assert_array_equal(bits, np.where(quarter, 1, 0))


@pytest.mark.parametrize(
    ("n_rules", "dtype"),
    [(1, "uint8"), (8, "uint8"), (9, "uint16"), (16, "uint16"), (17, "uint32"), (33, "uint64"),
     (64, "uint64")],
)  # fmt: skip
def test_rule_record_type_holds_one_bit_per_rule(n_rules, dtype):
    from sxplan.siting.exclusions import CompiledRules

    rules = CompiledRules([], layers=None)
    rules.rules = [None] * n_rules
    assert rules.bits_dtype == dtype
    rules.rules = [None] * 65
    with pytest.raises(ConfigError, match="at most 64"):
        rules.bits_dtype  # noqa: B018


def test_shortlist_after_the_run_reads_outlines_from_the_written_parcels(world, tmp_path):
    """Once the run is over its outline store is gone: the shortlist of the returned results
    takes its outlines from parcels_<tech>.gpkg, the same rows and geometries as the run's."""
    import geopandas as gpd

    from sxplan.siting.shortlist import parcel_shortlist

    res = _run(world, tmp_path / "out")
    assert all(tr.outlines is None for tr in res.techs.values())
    again = parcel_shortlist(res.techs, 5)
    written = gpd.read_file(tmp_path / "out" / "shortlist.gpkg")
    assert list(again["parcel_id"]) == list(written["parcel_id"]) and len(again) > 0
    assert again.crs == "EPSG:4326"
    assert all(again.geometry.geom_equals_exact(written.geometry, tolerance=1e-9))
    res.techs["pv"].parcels_gpkg = None  # never written: a clear error, not a bare KeyError
    with pytest.raises(RuntimeError, match="have not been written yet"):
        parcel_shortlist(res.techs, 5)


def test_parcels_within_one_tile_and_across_tiles_equal_the_whole(world, tmp_path, monkeypatch):
    # two 2 x 2 km islands, each inside one 4-cell tile, and an L along the last row and
    # column crossing three tiles: outlines finished by the tracing task (islands) and at the
    # last tile (the L) must equal one whole-grid pass
    import threading

    from sxplan.siting import polygonize

    grid, rasters, vectors, counties, bases = world
    keep = [
        shapely.box(0, 8000, 2000, 10_000),  # rows 0-1, cols 0-1: tile (0, 0)
        shapely.box(5000, 3000, 7000, 5000),  # rows 5-6, cols 5-6: tile (4, 4)
        shapely.box(0, 0, 10_000, 1000),  # row 9
        shapely.box(9000, 0, 10_000, 10_000),  # column 9
    ]
    q = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 10_000, 10_000).difference(shapely.union_all(keep))],
        crs=grid.crs,
    )
    world = (grid, rasters, {**vectors, "q": q}, counties, bases)
    finishing = []
    real = polygonize._finish

    def spy(pid, pieces, **kw):
        finishing.append((threading.current_thread() is threading.main_thread(), len(pieces)))
        return real(pid, pieces, **kw)

    monkeypatch.setattr(polygonize, "_finish", spy)
    a = _run(world, tmp_path / "a", techs=["pv"])
    finishing.clear()
    b = _run(world, tmp_path / "b", techs=["pv"], tile_size=4, scheduler="threads")
    assert any(not main for main, _ in finishing)  # an island, on a worker thread
    assert any(main and n > 1 for main, n in finishing)  # the L, from its tile pieces
    pd.testing.assert_frame_equal(a.techs["pv"].parcels, b.techs["pv"].parcels)
    pa, pb = (r.techs["pv"].parcels_with_outlines() for r in (a, b))
    assert len(pa) == 3 and all(pa.geometry.geom_equals(pb.geometry))
    assert sorted(pa["area_km2"]) == [4.0, 4.0, 19.0]  # 2 x 2, 2 x 2, 10 + 10 - 1


def test_float_tile_files_compressed_on_a_short_disk_give_the_same_outputs(
    world, tmp_path, monkeypatch
):
    """A disk short of twice the float tile files' size (here: a margin no disk has) makes the
    shared pass write them ZSTD; every COG and table is the same bit for bit."""
    from sxplan.layers import cog
    from sxplan.siting import _tile_pass

    grid, rasters, vectors, counties, bases = world
    chosen = []

    def spy(folder, nbytes):
        chosen.append((nbytes, cog.float_tile_compress(folder, nbytes)))
        return chosen[-1][1]

    monkeypatch.setattr(_tile_pass, "float_tile_compress", spy)
    run_siting(grid, rasters, vectors, counties, bases, CFG, tmp_path / "a", cog=True)
    monkeypatch.setattr(cog, "TILE_FILE_DISK_MARGIN", 1e30)
    run_siting(grid, rasters, vectors, counties, bases, CFG, tmp_path / "b", cog=True)
    # 10 x 10 cells x 4 bytes x 4 float rasters: each technology's suitability and criterion
    assert grid.shape == (10, 10)
    assert chosen == [(1600, "NONE"), (1600, "ZSTD")]
    _assert_same_outputs(tmp_path / "a", tmp_path / "b")
    for p in (tmp_path / "a").glob("*.tif"):
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes(), p.name


def test_pieces_spilled_during_the_pass_give_the_same_outputs(world, tmp_path, monkeypatch):
    """A run whose pass keeps no parcel pieces or tile borders in memory (every tile's go to
    scratch files: Budget.pieces_held_bytes 0) writes the same files bit for bit, and leaves no
    scratch file behind."""
    from sxplan.layers.budget import Budget
    from sxplan.siting import _parcel_graph

    spills = []
    real = _parcel_graph.ParcelAccumulator._spill

    def spy(self):
        spills.append(self._spill_dir.name)
        return real(self)

    grid, rasters, vectors, counties, bases = world
    kw = {"tile_size": 4, "cog": True}
    monkeypatch.setattr(_parcel_graph.ParcelAccumulator, "_spill", spy)
    run_siting(grid, rasters, vectors, counties, bases, CFG, tmp_path / "a", **kw)
    assert spills == []  # the default budget holds a small grid's pieces
    monkeypatch.setattr(Budget, "pieces_held_bytes", property(lambda self: 0.0))
    run_siting(grid, rasters, vectors, counties, bases, CFG, tmp_path / "b", **kw)
    # 10 x 10 cells in 4-cell tiles: 9 tiles, each technology spills after every tile (its
    # borders, and its pieces if it has any)
    assert set(spills) == {"pieces-pv", "pieces-wind"} and len(spills) == 18
    _assert_same_outputs(tmp_path / "a", tmp_path / "b")
    for p in (tmp_path / "a").iterdir():
        if p.is_file():
            assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes(), p.name
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(
        p.name for p in (tmp_path / "a").iterdir()
    )


def test_an_error_in_the_outlines_leaves_only_whole_rasters(world, tmp_path, monkeypatch):
    # the pass's rasters are converted to COG while the outlines are drawn: an error there
    # stops the conversions not begun and removes their files; what was converted is whole
    import sxplan.siting.run as siting_run

    def fail(*args, **kwargs):
        raise RuntimeError("outlines failed")

    monkeypatch.setattr(siting_run, "parcel_outlines", fail)
    grid, rasters, vectors, counties, bases = world
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="outlines failed"):
        run_siting(grid, rasters, vectors, counties, bases, CFG, out, tile_size=4)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names  # no tile file, no temporary
    assert "suitability_pv.tif" not in names  # held for the outlines, never converted
    for name in [n for n in names if n.endswith(".tif")]:
        with rasterio.open(out / name) as src:
            assert src.read(1).shape == grid.shape  # each file left is whole and readable


def test_outlines_read_from_the_tile_files_equal_those_of_a_run_without_cogs(world, tmp_path):
    # with COGs the outlines read each suitability's uncompressed tile file while the other
    # rasters are converted; without, the file itself: the parcels, their outlines (4-cell
    # tiles: pieces merged across tiles) and the tables are the same
    grid, rasters, vectors, counties, bases = world
    a = run_siting(grid, rasters, vectors, counties, bases, CFG, tmp_path / "a", cog=True,
                   tile_size=4)  # fmt: skip
    b = _run(world, tmp_path / "b", tile_size=4)
    for tech in ("pv", "wind"):
        assert len(a.techs[tech].parcels) > 0
        pd.testing.assert_frame_equal(a.techs[tech].parcels, b.techs[tech].parcels)
        fa = gpd.read_file(tmp_path / "a" / f"parcels_{tech}.gpkg")
        fb = gpd.read_file(tmp_path / "b" / f"parcels_{tech}.gpkg")
        assert list(fa.geometry.to_wkb()) == list(fb.geometry.to_wkb())
        with rasterio.open(tmp_path / "a" / f"suitability_{tech}.tif") as src:
            assert src.overviews(1) == [] and src.profile["compress"] == "deflate"
    assert not [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
