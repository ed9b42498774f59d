"""A run hands results from step to step in memory: it never reads back a file it just wrote."""

import geopandas as gpd
import pandas as pd
import pyogrio

from sxplan.config import demo_config_path, load_config
from sxplan.run import run_project


def test_siting_and_roadside_steps_read_no_output_back(tmp_path, monkeypatch):
    cfg = load_config(demo_config_path())
    coarse = cfg.project.model_copy(update={"resolution_m": 2000.0, "progress": False})
    cfg = cfg.model_copy(update={"project": coarse})
    out = tmp_path / "run"
    reads = []

    def spy(real):
        def wrapped(path, *args, **kwargs):
            reads.append(str(path))
            return real(path, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(gpd, "read_file", spy(gpd.read_file))
    monkeypatch.setattr(pyogrio, "read_dataframe", spy(pyogrio.read_dataframe))
    monkeypatch.setattr(pd, "read_csv", spy(pd.read_csv))
    ctx = run_project(cfg, out, steps=("layers", "siting", "roadside_pv"), log=lambda _: None)
    assert (out / "siting" / "shortlist.csv").is_file()
    inside = [p for p in reads if str(tmp_path) in p]
    assert inside == [], f"the run read back its own outputs: {inside}"
    # the spies did see the run's inputs, so they would have seen a read-back
    assert any("admin.gpkg" in p for p in reads)
    # both kinds of rows made it into the one shortlist
    techs = set(pd.read_csv(out / "siting" / "shortlist.csv", encoding="utf-8-sig")["technology"])
    assert {"pv", "wind", "roadside_pv"} <= techs
    assert ctx.out == out.resolve()
