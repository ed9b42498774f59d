"""Tables people read: rounding for CSV outputs.

Inputs: DataFrames with units in column names. Outputs: copies rounded by unit (GeoPackages and
rasters keep full precision; CSVs carry what a planner can read in Excel).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["round_for_csv"]


def round_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Round float columns by the unit their name carries.

    Coordinates (``lon``, ``lat`` ...) keep 6 decimals (~0.1 m); scores, shares, km2, GW, TWh
    and percentages 4; MW, GWh, metres, hectares and tonnes 2; anything else 4.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.

    Returns
    -------
    pandas.DataFrame
        A rounded copy.

    Examples
    --------
    >>> round_for_csv(pd.DataFrame({"lon": [112.1234567891], "capacity_mw": [12.3456]}))
              lon  capacity_mw
    0  112.123457        12.35
    """
    digits = {}
    for c in df.columns:
        if df[c].dtype.kind != "f":
            continue
        name = str(c)
        if name in ("lon", "lat") or name.startswith(("lon_", "lat_")):
            digits[c] = 6
        elif name.startswith("score") or name.endswith(
            ("_gw", "_twh_per_yr", "_km2", "_km", "_share", "_ratio", "_pct", "_points")
        ):
            digits[c] = 4
        elif name.endswith(("_mw", "_gwh_per_yr", "_m", "_ha", "_tco2_per_yr")) or "_tco2_" in name:
            digits[c] = 2
        else:
            digits[c] = 4
    return df.round(digits)
