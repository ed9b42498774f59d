"""Which counties are urban districts (市辖区): no unmapped forest, no new planting.

A county is urban when its name ends with one of ``urban_districts.name_suffixes`` (市辖区
names end in 区) and, when ``min_builtup_share`` is set, at least that share of its land-cover
cells is built-up; or when its adcode is listed in ``urban_districts.adcodes``. Adcodes in
``not_adcodes`` are never urban. An official county row with ``plantable_ha`` says the county
has that much plantable land, whatever this rule says (see :func:`apply_plantable_override`).

Inputs: county names and adcodes, built-up hectares, valid land-cover hectares, the rule.
Outputs: a boolean array, True for urban districts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply_plantable_override", "urban_districts"]


def urban_districts(names, adcodes, builtup_ha, valid_ha, rule) -> np.ndarray:
    """True for counties the rule calls urban districts.

    Parameters
    ----------
    names : array_like of str
        County names (Chinese).
    adcodes : array_like of int
        County adcodes.
    builtup_ha, valid_ha : array_like
        Built-up land and land with land-cover data, hectares.
    rule : sxplan.sinks.config.UrbanDistricts
        The configured rule.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> from sxplan.sinks.config import UrbanDistricts
    >>> urban_districts(["迎泽区", "沁源县", "矿区"], [1, 2, 3], [30.0, 0.0, 1.0],
    ...                 [100.0, 100.0, 100.0], UrbanDistricts()).tolist()
    [True, False, False]
    """
    names = np.asarray(names, dtype=object)
    adcodes = np.asarray(adcodes, dtype="int64")
    suffix = np.array([any(str(n).endswith(s) for s in rule.name_suffixes) for n in names])
    if rule.min_builtup_share is not None:
        valid = np.asarray(valid_ha, dtype="float64")
        share = np.divide(
            np.asarray(builtup_ha, dtype="float64"),
            valid,
            out=np.zeros(valid.shape),
            where=valid > 0,
        )
        suffix &= share >= rule.min_builtup_share
    urban = suffix | np.isin(adcodes, rule.adcodes)
    return urban & ~np.isin(adcodes, rule.not_adcodes)


def apply_plantable_override(eligible_ha, urban, adcodes, official):
    """Eligible land after the urban rule and the official table's ``plantable_ha`` column.

    Urban districts get no plantable land; a county whose official row gives ``plantable_ha``
    gets exactly that (urban or not).

    Parameters
    ----------
    eligible_ha : array_like
        Plantable land from the rasters, hectares.
    urban : array_like of bool
        From :func:`urban_districts`.
    adcodes : array_like of int
        County adcodes.
    official : pandas.DataFrame or None
        The official table (one row per county chosen already), maybe with ``plantable_ha``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(eligible_ha, source)`` with source ``raster``, ``urban_district`` or ``official``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"adcode": [2], "plantable_ha": [50.0]})
    >>> e, s = apply_plantable_override([100.0, 80.0, 70.0], [False, True, False], [1, 2, 3], t)
    >>> e.tolist(), s.tolist()
    ([100.0, 50.0, 70.0], ['raster', 'official', 'raster'])
    """
    out = np.asarray(eligible_ha, dtype="float64").copy()
    urban = np.asarray(urban, dtype=bool)
    source = np.where(urban, "urban_district", "raster").astype(object)
    out[urban] = 0.0
    if official is not None and "plantable_ha" in official.columns:
        given = official.dropna(subset=["plantable_ha"]).set_index("adcode")["plantable_ha"]
        hit = np.isin(np.asarray(adcodes, dtype="int64"), given.index.to_numpy())
        out[hit] = given.reindex(np.asarray(adcodes)[hit]).to_numpy()
        source[hit] = "official"
    return out, source
