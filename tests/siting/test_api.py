"""Cheap imports and an explicit API."""

from __future__ import annotations

import subprocess
import sys


def test_import_siting_is_cheap_and_all_is_strings():
    code = (
        "import sys; from sxplan import siting; "
        "assert all(isinstance(n, str) for n in siting.__all__); "
        "bad = [m for m in ('folium', 'matplotlib', 'sxplan.maps', 'sxplan.sinks') "
        "if m in sys.modules]; "
        "assert not bad, bad; "
        "siting.run_siting; "
        "bad = [m for m in ('folium', 'matplotlib', 'sxplan.maps', 'sxplan.cli') "
        "if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_modules_declare_all():
    import importlib

    for name in ("ahp", "bases", "bases_table", "capacity", "config", "config_rules", "criteria",
                 "exclusion_table", "exclusions", "parcel_table", "parcels", "polygonize",
                 "results", "roadside", "roadside_config", "roadside_summary", "run", "shortlist",
                 "suitability", "tech_pv", "tech_roadside_pv", "tech_wind",
                 "technology"):  # fmt: skip
        mod = importlib.import_module(f"sxplan.siting.{name}")
        assert all(isinstance(n, str) for n in mod.__all__)
        assert all(hasattr(mod, n) for n in mod.__all__), name
