"""IPCC Tier-1 biomass gain on land converted to forest, yearly trajectories and Monte Carlo.

The gain-loss method (2006 IPCC Guidelines Vol. 4 Ch. 2 Eq. 2.9-2.10, Ch. 4 Section 4.3.1) gives
the annual removal of a hectare of new forest as

    removal [tCO2/ha/yr] = G_w x (1 + R) x CF x 44/12 x survival

with ``G_w`` the above-ground biomass growth (t dry matter/ha/yr; plantations, Table 4.10, for
new planting; shrubs their own row), ``R`` the
root-to-shoot ratio (Table 4.4), ``CF`` the carbon fraction of dry matter (0.47, Table 4.3) and
``survival`` the share of planted area that establishes. Growth and R differ for young
(<= 20 years) and older stands and by forest type; every default, its range and its table row
live in ``sinks/data/ipcc_tier1.csv``.

Only biomass gains of the newly planted area are counted (no losses from harvest or
disturbance, no dead organic matter or soil carbon), which is the Tier-1 default for land
converted to forest land over the planning horizon.

Inputs: the parameter table, planted hectares per county and planting year, forest-type mix and
ecological zone per county. Outputs: removal factors, yearly trajectories (tCO2/yr) and Monte
Carlo 5-95 % ranges per county and for the province.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import ConfigError, LayerIOError

__all__ = [
    "AGE_CLASSES",
    "CO2_PER_C",
    "FOREST_TYPES",
    "YOUNG_MAX_AGE_YR",
    "ZONES",
    "SinkTrajectory",
    "Tier1Table",
    "annual_removal_tco2_per_ha",
    "cohort_exposure_ha",
    "load_tier1_table",
    "parameter_draws",
    "removal_factor_draws",
    "removal_factors",
    "sink_trajectory",
]

#: Folder of the packaged parameter tables.
DATA_DIR = Path(__file__).resolve().parent / "data"
#: Mass ratio of CO2 to C (44/12).
CO2_PER_C = 44.0 / 12.0
#: Planting types in the parameter table (shrubs: the shrubs-only climate zone).
FOREST_TYPES = ("broadleaf", "conifer", "shrub")
#: Tree types (existing forest, BCEFs).
TREE_TYPES = ("broadleaf", "conifer")
#: Stand age classes in the parameter table; "young" is age <= :data:`YOUNG_MAX_AGE_YR`.
AGE_CLASSES = ("young", "older")
#: The IPCC Table 4.9 split between young and older stands, in years.
YOUNG_MAX_AGE_YR = 20
#: Ecological zones with rows in the parameter table.
ZONES = ("temperate_continental", "temperate_mountain")
#: (forest_type, age_class) combinations, the last axis of exposure and factor arrays.
CATEGORIES = tuple((t, a) for t in FOREST_TYPES for a in AGE_CLASSES)

_REQUIRED_COLUMNS = (
    "parameter",
    "ecological_zone",
    "forest_type",
    "age_class",
    "value",
    "low",
    "high",
    "unit",
    "source",
)
_UNITS = {
    "growth_agb": "t_dm_per_ha_yr",
    "growth_agb_natural": "t_dm_per_ha_yr",
    "bcef_s": "t_dm_per_m3",
    "bcef_i": "t_dm_per_m3",
    "root_to_shoot": "ratio",
    "carbon_fraction": "t_c_per_t_dm",
    "survival": "fraction",
}


def annual_removal_tco2_per_ha(
    growth_t_dm_per_ha_yr, root_to_shoot, carbon_fraction=0.47, survival=1.0
):
    """Annual CO2 removal of one hectare of new forest (IPCC Tier-1 gain method).

    Parameters
    ----------
    growth_t_dm_per_ha_yr : float or array_like
        Above-ground biomass growth, tonnes dry matter per hectare per year.
    root_to_shoot : float or array_like
        Ratio of below-ground to above-ground biomass (dimensionless).
    carbon_fraction : float or array_like
        Tonnes carbon per tonne dry matter (IPCC default 0.47).
    survival : float or array_like
        Share of planted area that establishes as forest (0-1).

    Returns
    -------
    float or numpy.ndarray
        Removal in tCO2 per hectare planted per year (positive = taken up).

    Examples
    --------
    >>> round(annual_removal_tco2_per_ha(4.0, 0.46), 4)  # 4.0 x 1.46 x 0.47 x 44/12
    10.0643
    """
    return growth_t_dm_per_ha_yr * (1.0 + root_to_shoot) * carbon_fraction * CO2_PER_C * survival


@dataclass(frozen=True)
class Tier1Table:
    """The Tier-1 parameter table (one row per parameter, zone, forest type and age class).

    Attributes
    ----------
    rows : pandas.DataFrame
        Columns ``parameter, ecological_zone, forest_type, age_class, value, low, high, unit,
        source`` (plus free-text ``confidence`` and ``note``); ``*`` in a key column matches
        anything.
    path : str
        Where the table was read from, for messages and run records.
    """

    rows: pd.DataFrame
    path: str

    def row(self, parameter: str, zone: str = "*", forest_type: str = "*", age_class: str = "*"):
        """Return the single row matching the keys (``*`` in the table matches any key).

        Parameters
        ----------
        parameter : str
            ``growth_agb``, ``root_to_shoot``, ``carbon_fraction`` or ``survival``.
        zone, forest_type, age_class : str
            Keys to match.

        Returns
        -------
        pandas.Series
            The row, with ``value``, ``low``, ``high``, ``unit`` and ``source``.

        Raises
        ------
        ConfigError
            If no row or more than one row matches.
        """
        r = self.rows
        sel = r["parameter"] == parameter
        for col, key in (
            ("ecological_zone", zone),
            ("forest_type", forest_type),
            ("age_class", age_class),
        ):
            sel &= (r[col] == key) | (r[col] == "*")
        hits = r[sel]
        if len(hits) != 1:
            raise ConfigError(
                f"parameter table {self.path}: {len(hits)} rows match parameter={parameter}, "
                f"ecological_zone={zone}, forest_type={forest_type}, age_class={age_class}; "
                "the table needs exactly one (use '*' for 'any')"
            )
        return hits.iloc[0]


def load_tier1_table(path: str | Path | None = None) -> Tier1Table:
    """Read and check a Tier-1 parameter table (default: the packaged IPCC defaults).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A CSV with the columns of ``sinks/data/ipcc_tier1.csv``.

    Returns
    -------
    Tier1Table

    Raises
    ------
    LayerIOError
        If the file cannot be read.
    ConfigError
        If columns are missing, units are wrong, a range does not contain its value, or a
        combination needed by the model has no row.
    """
    if path is None:
        df = pd.read_csv(
            DATA_DIR / "ipcc_tier1.csv", dtype={"value": float, "low": float, "high": float}
        )
        where = "sinks/data/ipcc_tier1.csv"
    else:
        where = str(path)
        try:
            df = pd.read_csv(path, dtype={"value": float, "low": float, "high": float})
        except (OSError, ValueError) as exc:
            raise LayerIOError(f"cannot read parameter table {path}: {exc}") from exc
    missing = [c for c in _REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(
            f"parameter table {where} lacks columns {missing}; copy the header of the packaged "
            "sinks/data/ipcc_tier1.csv"
        )
    for i, r in df.iterrows():
        want = _UNITS.get(r["parameter"])
        if want is None:
            raise ConfigError(
                f"parameter table {where} row {i + 2}: unknown parameter {r['parameter']!r}; "
                f"use one of {sorted(_UNITS)}"
            )
        if r["unit"] != want:
            raise ConfigError(
                f"parameter table {where} row {i + 2}: {r['parameter']} must be in {want}, "
                f"got {r['unit']!r}"
            )
        if not (0 <= r["low"] <= r["value"] <= r["high"]):
            raise ConfigError(
                f"parameter table {where} row {i + 2}: need 0 <= low <= value <= high, got "
                f"{r['low']}, {r['value']}, {r['high']}"
            )
    table = Tier1Table(df, where)
    for zone in ZONES:
        for t, a in CATEGORIES:
            table.row("growth_agb", zone, t, a)
            table.row("root_to_shoot", zone, t, a)
            if t in TREE_TYPES:
                table.row("growth_agb_natural", zone, t, a)
    table.row("carbon_fraction")
    table.row("survival")
    return table


def removal_factors(table: Tier1Table) -> np.ndarray:
    """Central removal factors per zone and (forest type, age class), tCO2/ha planted/yr.

    Parameters
    ----------
    table : Tier1Table
        The parameter table.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ZONES), len(CATEGORIES))``, survival included.
    """
    cf = table.row("carbon_fraction")["value"]
    surv = table.row("survival")["value"]
    out = np.empty((len(ZONES), len(CATEGORIES)))
    for z, zone in enumerate(ZONES):
        for k, (t, a) in enumerate(CATEGORIES):
            g = table.row("growth_agb", zone, t, a)["value"]
            r = table.row("root_to_shoot", zone, t, a)["value"]
            out[z, k] = annual_removal_tco2_per_ha(g, r, cf, surv)
    return out


def _triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Inverse CDF of the triangular distribution (degenerate ranges return ``mode``)."""
    if high <= low:
        return np.full_like(u, mode)
    fc = (mode - low) / (high - low)
    left = low + np.sqrt(u * (high - low) * (mode - low))
    right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
    return np.where(u < fc, left, right)


def parameter_draws(table: Tier1Table, n_draws: int, seed: int) -> dict[tuple, np.ndarray]:
    """Monte Carlo draws of growth rate and root-to-shoot ratio per table key.

    Each is drawn from a triangular distribution with the table's ``low``, ``value`` (mode) and
    ``high``. Rows citing the same source (the one Table 4.9 row shared by broadleaf and
    conifer) share one draw.

    Parameters
    ----------
    table : Tier1Table
        The parameter table.
    n_draws : int
        Number of draws.
    seed : int
        Seed of the NumPy generator.

    Returns
    -------
    dict
        ``(parameter, zone, forest_type, age_class) -> array of n_draws``.
    """
    rng = np.random.default_rng(seed)
    uniforms: dict[tuple[str, str], np.ndarray] = {}
    out: dict[tuple, np.ndarray] = {}
    for zone in ZONES:
        for t, a in CATEGORIES:
            for parameter in ("growth_agb", "root_to_shoot"):
                row = table.row(parameter, zone, t, a)
                key = (parameter, row["source"])
                if key not in uniforms:
                    uniforms[key] = rng.random(n_draws)
                out[(parameter, zone, t, a)] = _triangular_ppf(
                    uniforms[key], row["low"], row["value"], row["high"]
                )
    return out


def removal_factor_draws(table: Tier1Table, n_draws: int, seed: int) -> np.ndarray:
    """Monte Carlo draws of removal factors, tCO2/ha planted/yr.

    Growth rate and root-to-shoot ratio come from :func:`parameter_draws`. Each draw applies
    to all counties at once: Tier-1 default errors are systematic, so county ranges are fully
    correlated and the province range is not narrowed by summing counties. Carbon fraction and
    survival stay at their central values.

    Parameters
    ----------
    table : Tier1Table
        The parameter table.
    n_draws : int
        Number of draws (e.g. 2000).
    seed : int
        Seed of the NumPy generator, so runs are reproducible.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_draws, len(ZONES), len(CATEGORIES))``.
    """
    draws = parameter_draws(table, n_draws, seed)
    cf = table.row("carbon_fraction")["value"]
    surv = table.row("survival")["value"]
    out = np.empty((n_draws, len(ZONES), len(CATEGORIES)))
    for z, zone in enumerate(ZONES):
        for k, (t, a) in enumerate(CATEGORIES):
            g = draws[("growth_agb", zone, t, a)]
            r = draws[("root_to_shoot", zone, t, a)]
            out[:, z, k] = annual_removal_tco2_per_ha(g, r, cf, surv)
    return out


def cohort_exposure_ha(
    planted_ha: np.ndarray, planting_years: np.ndarray, years: np.ndarray, mix: dict[str, float]
) -> np.ndarray:
    """Planted hectares growing in each year, by forest type and age class.

    A cohort planted in year ``p`` (spring planting) grows in its first season, so in year
    ``y >= p`` its age is ``y - p + 1`` years; it is "young" while the age is at most
    :data:`YOUNG_MAX_AGE_YR` and "older" afterwards.

    Parameters
    ----------
    planted_ha : numpy.ndarray
        Shape ``(n_units, n_planting_years)``: hectares planted per unit (county) and year.
    planting_years : numpy.ndarray
        Calendar years of the columns of ``planted_ha``.
    years : numpy.ndarray
        Calendar years to report.
    mix : dict
        Share of planted area per type (``broadleaf``, ``conifer``, ``shrub``), summing to 1;
        a share is a number or an array with one value per unit.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_units, len(years), len(CATEGORIES))`` in hectares.
    """
    planted_ha = np.asarray(planted_ha, dtype="float64")
    age = years[:, None] - planting_years[None, :] + 1  # (Y, P)
    young = (age >= 1) & (age <= YOUNG_MAX_AGE_YR)
    older = age > YOUNG_MAX_AGE_YR
    young_ha = planted_ha @ young.T.astype("float64")  # (C, Y)
    older_ha = planted_ha @ older.T.astype("float64")
    out = np.empty((planted_ha.shape[0], years.size, len(CATEGORIES)))
    for k, (t, a) in enumerate(CATEGORIES):
        share = np.asarray(mix.get(t, 0.0), dtype="float64")
        share = share[:, None] if share.ndim == 1 else share
        out[:, :, k] = share * (young_ha if a == "young" else older_ha)
    return out


@dataclass(frozen=True)
class SinkTrajectory:
    """Yearly afforestation sinks, central and Monte Carlo 5-95 %, in tCO2/yr.

    Attributes
    ----------
    years : numpy.ndarray
        Calendar years.
    county_tco2_per_yr : numpy.ndarray
        ``(n_counties, n_years)`` central estimate.
    county_p05, county_p95 : numpy.ndarray
        ``(n_counties, n_years)`` 5th and 95th percentiles over draws.
    province_tco2_per_yr, province_p05, province_p95 : numpy.ndarray
        ``(n_years,)`` for the sum of counties (percentiles of the summed draws).
    """

    years: np.ndarray
    county_tco2_per_yr: np.ndarray
    county_p05: np.ndarray
    county_p95: np.ndarray
    province_tco2_per_yr: np.ndarray
    province_p05: np.ndarray
    province_p95: np.ndarray

    def at(self, year: int) -> int:
        """Column index of a calendar year."""
        hits = np.flatnonzero(self.years == year)
        if hits.size != 1:
            raise ConfigError(
                f"year {year} is not in the trajectory {self.years[0]}-{self.years[-1]}"
            )
        return int(hits[0])

    def province_frame(self) -> pd.DataFrame:
        """The province trajectory as a table (year, sink, 5 % and 95 %)."""
        return pd.DataFrame(
            {
                "year": self.years,
                "sink_tco2_per_yr": self.province_tco2_per_yr,
                "sink_tco2_per_yr_p05": self.province_p05,
                "sink_tco2_per_yr_p95": self.province_p95,
            }
        )


def sink_trajectory(
    planted_ha: np.ndarray,
    planting_years: np.ndarray,
    years: np.ndarray,
    zone_index: np.ndarray,
    mix: dict[str, float],
    table: Tier1Table,
    *,
    n_draws: int = 2000,
    seed: int = 20250101,
) -> SinkTrajectory:
    """Yearly sinks of planted area per county with Monte Carlo 5-95 % ranges.

    Parameters
    ----------
    planted_ha : numpy.ndarray
        ``(n_counties, n_planting_years)`` hectares planted.
    planting_years, years : numpy.ndarray
        Calendar years of planting columns and of the output.
    zone_index : numpy.ndarray
        ``(n_counties,)`` index into :data:`ZONES` per county.
    mix : dict
        Forest-type shares of planted area.
    table : Tier1Table
        Parameters.
    n_draws : int
        Monte Carlo draws.
    seed : int
        Generator seed.

    Returns
    -------
    SinkTrajectory
    """
    years = np.asarray(years)
    zone_index = np.asarray(zone_index, dtype="int64")
    exposure = cohort_exposure_ha(planted_ha, np.asarray(planting_years), years, mix)  # (C,Y,K)
    central_f = removal_factors(table)[zone_index]  # (C, K)
    central = np.einsum("cyk,ck->cy", exposure, central_f)
    draws_f = removal_factor_draws(table, n_draws, seed)[:, zone_index, :]  # (D, C, K)
    province_draws = np.einsum("cyk,dck->dy", exposure, draws_f)
    county_p05 = np.empty_like(central)
    county_p95 = np.empty_like(central)
    # County percentiles a year at a time keeps memory at (draws x counties).
    from sxplan.layers.progress import progress_bar

    bar = progress_bar(years.size, f"Monte Carlo ({n_draws} draws)", unit="year")
    for j in range(years.size):
        per_county = np.einsum("dck,ck->dc", draws_f, exposure[:, j, :])
        county_p05[:, j], county_p95[:, j] = np.percentile(per_county, [5, 95], axis=0)
        bar.update(1)
    bar.close()
    p05, p95 = np.percentile(province_draws, [5, 95], axis=0)
    return SinkTrajectory(years, central, county_p05, county_p95, central.sum(axis=0), p05, p95)
