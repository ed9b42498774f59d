"""Per-area parameters of the synthetic benchmark dataset (``generate.py --area``).

Inputs: none. Outputs: :data:`AREAS`, a dict of plain parameters by area name.
"""

__all__ = ["AREAS"]

#: Per-area parameters. ``china`` (issue 17, national scale) is a synthetic China-sized area
#: (see ``_synth_china.py``), about 61x Shanxi's area. Its counts are round numbers of the
#: right order, not sourced figures (unverified; from general knowledge): about 2,800
#: county-level and 330 prefecture-level units, seats Poisson-disc sampled at least 45 km apart
#: (mean spacing sqrt(9.6 M km2 / 2,800) = 59 km), 800 protected areas covering 8 % (as in the
#: Shanxi option), and 180,000 km of highway, of the order of the national expressway network.
AREAS = {
    "shanxi": {
        "n_counties": 117,
        "n_prefectures": 11,
        "n_protected": 50,
        "highway_km": 6_000.0,
        "seat_spacing_m": 28_000.0,
        "protected_lattice_m": 2_000.0,
        "adcode_base": 140000,
        "digits": 3,
        "province_name": "合成山西省",
    },
    "china": {
        "n_counties": 2_800,
        "n_prefectures": 330,
        "n_protected": 800,
        "highway_km": 180_000.0,
        "seat_spacing_m": 45_000.0,
        "protected_lattice_m": 10_000.0,
        "adcode_base": 100000,
        "digits": 4,
        "province_name": "合成全国 (synthetic China-sized area)",
    },
}
