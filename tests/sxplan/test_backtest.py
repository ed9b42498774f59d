"""`sxplan backtest` on a tiny hand-made run folder: AUC by hand (with ties), rules, flags."""

import json
from itertools import product

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import Transformer

from _sxtest import write_tif
from sxplan.cli import main
from sxplan.schema import dataset
from sxplan.siting.backtest import bootstrap_auc, roc_auc, site_cells

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"
X0, Y0 = 1_000_000.0, 4_200_000.0  # a grid in Shanxi's longitudes/latitudes
TR = Affine(1000, 0, X0, 0, -1000, Y0)
N = np.nan
CODE = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 255]], "uint8")
SUIT = np.array(
    [[0.2, 0.4, 0.4, 0.6], [0.6, 0.8, N, N], [0.2, 0.2, 0.4, 0.8], [0.6, 0.4, 0.4, N]], "float32"
)


def _pairwise_auc(s, b):
    """Independent reference: share of (site, background) pairs the site wins, ties half."""
    wins = sum((x > y) + 0.5 * (x == y) for x, y in product(s, b))
    return wins / (len(s) * len(b))


def test_rank_auc_matches_pair_counting_with_ties():
    s, b = np.array([0.5, 0.5, 0.9]), np.array([0.1, 0.5, 0.5, 0.7])
    assert roc_auc(s, b) == pytest.approx(8 / 12)  # by hand: 2 + 2 + 4 wins of 12
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = rng.integers(0, 5, rng.integers(1, 9)).astype(float)
        b = rng.integers(0, 5, rng.integers(1, 20)).astype(float)
        assert roc_auc(s, b) == pytest.approx(_pairwise_auc(s, b))
    assert np.isnan(roc_auc(np.array([]), b))


def test_bootstrap_interval_brackets_the_auc_and_is_seeded():
    rng = np.random.default_rng(0)
    s, b = rng.normal(1, 1, 80), rng.normal(0, 1, 400)
    lo, hi = bootstrap_auc(s, b, np.random.default_rng(5), 300)
    assert lo < roc_auc(s, b) < hi
    assert (lo, hi) == bootstrap_auc(s, b, np.random.default_rng(5), 300)


def test_polygon_cells_are_weighted_by_exact_area():
    import shapely

    # half of cell (0, 0) and a quarter of cell (0, 1): weights 500,000 and 250,000 m2
    poly = shapely.box(X0 + 500, Y0 - 1000, X0 + 1500, Y0 - 500)
    poly = shapely.union(poly, shapely.box(X0 + 500, Y0 - 500, X0 + 1000, Y0))
    cells = site_cells([poly], TR, (4, 4))
    got = {
        (int(r), int(c)): w for r, c, w in zip(cells.rows, cells.cols, cells.weight, strict=True)
    }
    assert got == pytest.approx({(0, 0): 500_000.0, (0, 1): 250_000.0})


def _run_folder(root):
    run = root / "run"
    (run / "siting").mkdir(parents=True)
    write_tif(dataset("siting.excluded_by_rule").path_in(run, tech="pv"), CODE, TR, ALBERS, 255)
    write_tif(dataset("siting.suitability").path_in(run, tech="pv"), SUIT, TR, ALBERS, np.nan)
    bits = np.zeros((4, 4), "uint32")
    bits[1, 2:] = 1  # rule of order 1 (hard, code 1)
    bits[1, 2] |= 4  # rule of order 3 (hard, code 3) also selects (1, 2)
    bits[1, 1] = 2  # soft rule of order 2
    write_tif(dataset("siting.rules_applying").path_in(run, tech="pv"), bits, TR, ALBERS)
    flat = np.where(CODE == 255, np.nan, 0.5).astype("float32")  # every value tied
    path = dataset("siting.criterion").path_in(run, tech="pv", criterion="flat")
    write_tif(path, flat, TR, ALBERS, np.nan)
    cols = [c.name for c in dataset("siting.exclusions").columns]
    rows = [
        ("pv", 1, 1, "redline", "hard", "vector"),
        ("pv", 2, 2, "forest_soft", "soft", "categorical"),
        ("pv", 3, 3, "steep", "hard", "range"),
        ("pv", None, None, "eligible", "", "total"),
    ]
    recs = [
        {"technology": r[0], "order": r[1], "code": r[2], "rule": r[3], "mode": r[4], "type": r[5]}
        for r in rows
    ]
    ex = pd.DataFrame(recs).reindex(columns=cols)
    ex.to_csv(dataset("siting.exclusions").path_in(run), index=False)
    (run / "run.json").write_text(json.dumps({"sxplan_run": 1, "results": {"kept": 1}}), "utf-8")
    return run


def _lonlat(row, col):
    x, y = TR * (col + 0.5, row + 0.5)
    return Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True).transform(x, y)


def _sites_csv(root, extra=()):
    pts = [("A", 1, 1, 100.0), ("B", 0, 1, 50.0), ("C", 1, 2, 30.0), ("E", 3, 3, 20.0)]
    pts += list(extra)
    rows = [{"name": n, "经度": _lonlat(r, c)[0], "纬度": _lonlat(r, c)[1], "mw": mw}
            for n, r, c, mw in pts]  # fmt: skip
    path = root / "sites.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _polygon_site(root):
    import geopandas as gpd
    import shapely

    # cells (2, 0) and (2, 1), half each: score (0.2 + 0.2) / 2
    g = shapely.box(X0 + 500, Y0 - 3000, X0 + 1500, Y0 - 2000)
    gdf = gpd.GeoDataFrame({"name": ["D"], "mw": [10.0]}, geometry=[g], crs=ALBERS)
    gdf.to_file(root / "poly.gpkg", layer="poly")
    return root / "poly.gpkg"


def test_backtest_auc_by_hand_on_a_tiny_run(tmp_path):
    run = _run_folder(tmp_path)
    sites = _sites_csv(tmp_path)
    args = ["backtest", str(run), "--sites", str(sites), "--capacity-field", "mw",
            "--background", "100"]  # fmt: skip
    assert main(args) == 0
    table = pd.read_csv(run / "backtest" / "backtest.csv", encoding="utf-8-sig")
    by = table.set_index("name")
    assert by.loc["A", "score"] == pytest.approx(0.8)
    assert by.loc["C", "score"] == 0 and by.loc["C", "first_rule"] == "redline"
    assert by.loc["C", "all_rules"] == "redline;steep"
    assert by.loc["A", "soft_rules"] == "forest_soft"
    assert not by.loc["E", "inside_study_area"] and by.loc["E", "dropped"] == "outside_study_area"
    # background = all 15 study cells (100 asked); excluded cells score 0.
    # Sites 0.8, 0.4, 0: wins 14, 7.5 and 1 of 15 background cells each.
    auc = pd.read_csv(run / "backtest" / "backtest_auc.csv", encoding="utf-8-sig")
    auc = auc.set_index("measure")
    assert auc.loc["score", "n_background"] == 15
    assert auc.loc["score", "auc"] == pytest.approx(22.5 / 45, abs=1e-4)
    assert auc.loc["flat", "auc"] == pytest.approx(0.5)  # all tied
    # eligible sites (A, B) against the 13 eligible cells: 0.8 wins 11 + 1, 0.4 wins 3 + 2.5
    assert auc.loc["score_eligible", "auc"] == pytest.approx(17.5 / 26, abs=1e-4)
    assert auc.loc["score", "auc_p05"] <= auc.loc["score", "auc"] <= auc.loc["score", "auc_p95"]
    data = json.loads((run / "run.json").read_text("utf-8"))
    assert data["results"] == {"kept": 1}  # the rest of run.json is kept
    summ = data["backtest"]["technologies"]["pv"]
    assert summ["outside_study_area"] == ["4"]
    assert summ["share_capacity_eligible"] == pytest.approx(150 / 180)
    assert summ["criterion_rasters"] is True  # run.json without a config: the default
    assert (run / "backtest" / "score_distribution_pv.png").stat().st_size > 1000
    # a second backtest needs --overwrite
    assert main(args) == 2
    assert main([*args, "--overwrite"]) == 0


def test_a_run_without_criterion_rasters_says_it_has_no_auc_per_criterion(tmp_path, capsys):
    """A run with ``siting.criterion_rasters: false`` wrote none: the AUC table has the score
    rows only, and the summary and the printed report say why."""
    run = _run_folder(tmp_path)
    dataset("siting.criterion").path_in(run, tech="pv", criterion="flat").unlink()
    meta = {"sxplan_run": 1, "config": {"siting": {"criterion_rasters": False}}}
    (run / "run.json").write_text(json.dumps(meta), "utf-8")
    args = ["backtest", str(run), "--sites", str(_sites_csv(tmp_path)), "--background", "100"]
    assert main(args) == 0
    auc = pd.read_csv(run / "backtest" / "backtest_auc.csv", encoding="utf-8-sig")
    assert auc["measure"].tolist() == ["score", "score_eligible"]
    data = json.loads((run / "run.json").read_text("utf-8"))
    assert data["backtest"]["technologies"]["pv"]["criterion_rasters"] is False
    assert "no AUC per criterion" in capsys.readouterr().out


def test_polygons_shared_coordinates_and_dropping(tmp_path):
    run = _run_folder(tmp_path)
    poly = _polygon_site(tmp_path)
    assert main(["backtest", str(run), "--sites", str(poly), "--background", "100"]) == 0
    row = pd.read_csv(run / "backtest" / "backtest.csv", encoding="utf-8-sig").iloc[0]
    assert row["score"] == pytest.approx(0.2) and row["cells"] == 2
    sites = _sites_csv(tmp_path, extra=[("F1", 0, 1, 1.0), ("F2", 0, 1, 1.0)])
    args = ["backtest", str(run), "--sites", str(sites), "--background", "100", "--overwrite"]
    assert main([*args, "--drop-shared-coordinates"]) == 0
    table = pd.read_csv(run / "backtest" / "backtest.csv", encoding="utf-8-sig")
    assert table.set_index("name").loc[["B", "F1", "F2"], "dropped"].eq("shared_coordinate").all()
    auc = pd.read_csv(run / "backtest" / "backtest_auc.csv", encoding="utf-8-sig")
    # scored: A (0.8) and C (0): 14 + 1 wins of 30
    assert auc.set_index("measure").loc["score", "auc"] == pytest.approx(15 / 30, abs=1e-4)


def test_bad_site_files_are_clear_errors(tmp_path, capsys):
    run = _run_folder(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", "utf-8")
    assert main(["backtest", str(run), "--sites", str(bad)]) == 2
    assert "--lon-field" in capsys.readouterr().err
    sites = _sites_csv(tmp_path)
    assert main(["backtest", str(run), "--sites", str(sites), "--capacity-field", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["backtest", str(run), "--sites", str(sites), "--technology", "wind"]) == 2
    assert not (run / "backtest").exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("lon,lat\n", "utf-8")
    assert main(["backtest", str(run), "--sites", str(empty)]) == 2
    assert "no sites" in capsys.readouterr().err
    (run / "run.json").unlink()
    assert main(["backtest", str(run), "--sites", str(sites)]) == 2
    assert "run.json" in capsys.readouterr().err and not (run / "backtest").exists()


def test_accuracy_labels_are_carried_and_summarised(tmp_path):
    run = _run_folder(tmp_path)
    sites = _sites_csv(tmp_path)
    frame = pd.read_csv(sites, encoding="utf-8-sig")
    frame["precision"] = ["exact", "exact", "county", "county"]
    frame.to_csv(sites, index=False)
    args = ["backtest", str(run), "--sites", str(sites), "--accuracy-field", "precision"]
    assert main(args) == 0
    table = pd.read_csv(run / "backtest" / "backtest.csv", encoding="utf-8-sig")
    assert table["accuracy"].tolist() == ["exact", "exact", "county", "county"]
    summ = json.loads((run / "run.json").read_text("utf-8"))["backtest"]["technologies"]["pv"]
    # scored: A, B exact (both eligible), C county (excluded); E is outside
    assert summ["by_accuracy"] == {
        "county": {"sites": 1, "share_sites_eligible": 0.0},
        "exact": {"sites": 2, "share_sites_eligible": 1.0},
    }


def test_gcj02_sites_are_shifted_like_layers(tmp_path):
    from sxplan.layers.datum import wgs84_to_gcj02

    run = _run_folder(tmp_path)
    sites = _sites_csv(tmp_path)
    frame = pd.read_csv(sites, encoding="utf-8-sig")
    lon, lat = wgs84_to_gcj02(frame["经度"].to_numpy(), frame["纬度"].to_numpy())
    shifted = frame.assign(经度=lon, 纬度=lat)  # ~0.5 km off: another cell without the flag
    shifted.to_csv(sites, index=False)
    assert main(["backtest", str(run), "--sites", str(sites), "--datum", "gcj02"]) == 0
    table = pd.read_csv(run / "backtest" / "backtest.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(table["lon"], frame["经度"], atol=1e-6)
    assert table.set_index("name").loc["A", "score"] == pytest.approx(0.8)


def test_backtest_records_its_checksums_and_refuses_a_foreign_run(tmp_path):
    run = _run_folder(tmp_path)
    sites = _sites_csv(tmp_path)
    assert main(["backtest", str(run), "--sites", str(sites), "--background", "100"]) == 0
    sums = json.loads((run / "run.json").read_text("utf-8"))["outputs_sha256"]
    assert "backtest/backtest.csv" in sums
    # a backtest folder inside a folder sxplan did not write is not replaced
    foreign = tmp_path / "foreign"
    (foreign / "backtest").mkdir(parents=True)
    (foreign / "backtest" / "mine.txt").write_text("keep me", "utf-8")
    from sxplan._out_guard import is_run_folder

    assert not is_run_folder(foreign / "backtest")


def test_rule_bits_are_read_exactly_above_2_53(tmp_path):
    """A uint64 record with rule 1 and rule 64 set (bit 0 and bit 63): read as stored. Through
    float64 the low bit is lost (2**63 + 1 rounds to 2**63), which dropped rule 1 from
    ``all_rules`` for technologies with more than 53 rules."""
    from sxplan.backtest import _read_bits
    from sxplan.siting.backtest import read_cells

    bits = np.zeros((300, 4), dtype="uint64")
    bits[0, 0] = (1 << 63) | 1
    bits[299, 3] = (1 << 40) | (1 << 2)
    path = tmp_path / "rules.tif"
    write_tif(path, bits, Affine(30, 0, 0, 0, -30, 9000), None)
    cells = pd.DataFrame({"rows": [0, 299, 5], "cols": [0, 3, 1]})
    got = _read_bits(path, cells)
    assert got.dtype == np.uint64
    assert got.tolist() == [(1 << 63) | 1, (1 << 40) | 4, 0]
    assert int(read_cells(path, cells.rows, cells.cols)[0]) == 1 << 63  # the float path


def test_a_real_site_run_without_criterion_rasters_then_its_backtest(tmp_path, capsys):
    """``sxplan site`` on the demo config (3 km) with ``criterion_rasters: false``: no
    criterion raster, the flag in run.json, and the backtest says it has no AUC per criterion."""
    from _sxrun import demo_project

    def edit(cfg):
        cfg["siting"]["criterion_rasters"] = False

    project = demo_project(tmp_path / "p", edit=edit)
    out = tmp_path / "run"
    assert main(["site", str(project), "--tech", "pv", "--out", str(out), "--no-progress"]) == 0
    assert (out / "siting" / "suitability_pv.tif").is_file()
    assert not list((out / "siting").glob("criterion_*"))
    run = json.loads((out / "run.json").read_text("utf-8"))
    assert run["config"]["siting"]["criterion_rasters"] is False
    sites = tmp_path / "sites.csv"
    pd.DataFrame({"longitude": [112.55, 113.0], "latitude": [37.87, 38.5]}).to_csv(
        sites, index=False
    )
    capsys.readouterr()
    assert main(["backtest", str(out), "--sites", str(sites), "--background", "200"]) == 0
    assert "no AUC per criterion" in capsys.readouterr().out
    auc = pd.read_csv(out / "backtest" / "backtest_auc.csv", encoding="utf-8-sig")
    assert set(auc["measure"]) == {"score", "score_eligible"}


def test_a_run_missing_a_criterion_raster_its_config_promises_is_refused(tmp_path, capsys):
    """The hand-made run's config lists criteria ``flat`` and ``steep`` for PV with
    ``criterion_rasters: true``; only ``flat`` is on disk, so the backtest names the missing
    file and exits 2 instead of leaving out that criterion's AUC."""
    run = _run_folder(tmp_path)
    crit = [{"name": "flat"}, {"name": "steep"}]
    meta = {"sxplan_run": 1, "config": {"siting": {"criterion_rasters": True,
                                                   "pv": {"criteria": crit}}}}  # fmt: skip
    (run / "run.json").write_text(json.dumps(meta), "utf-8")
    args = ["backtest", str(run), "--sites", str(_sites_csv(tmp_path)), "--background", "100"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "lacks criterion_pv_steep.tif" in err and "run the siting into it again" in err
    assert not (run / "backtest").exists()
    crit.pop()  # the config now promises only the raster on disk
    (run / "run.json").write_text(json.dumps(meta), "utf-8")
    assert main(args) == 0
