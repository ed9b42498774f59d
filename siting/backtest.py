"""Backtest arithmetic: ROC AUC by ranks, its bootstrap interval, and values at sites and cells.

The ROC AUC of a score that should be higher at existing sites than elsewhere is the
Mann-Whitney statistic: ``AUC = (R1 - n1 (n1 + 1) / 2) / (n1 n0)`` with ``R1`` the sum of the
sites' ranks among all values, tied values sharing their mid-rank. It is the chance that a
site outranks a background cell, a tie counting half; 0.5 is chance, below 0.5 the score
prefers places without sites.

Sites are scored on the run's grid: a point by the cell holding it, a polygon by the
area-weighted mean over the cells it covers (exact cell/polygon intersection areas). Rasters
are read in row strips, so memory stays bounded on large grids.

Inputs: value arrays; a run raster's path and cell indices; site geometries in the grid CRS.
Outputs: AUC values and intervals, cell samples, per-site cell weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "SiteCells",
    "bootstrap_auc",
    "read_cells",
    "roc_auc",
    "sample_study_cells",
    "site_cells",
    "weighted_site_means",
]

#: Rows read at once when picking cells out of a raster.
STRIP_ROWS = 256


def roc_auc(sites: np.ndarray, background: np.ndarray) -> float:
    """ROC AUC of ``sites`` against ``background`` by the rank formula (mid-ranks for ties).

    Parameters
    ----------
    sites, background : numpy.ndarray
        Scores (NaN values are left out).

    Returns
    -------
    float
        AUC in [0, 1]; NaN when either side is empty.

    Examples
    --------
    >>> roc_auc(np.array([3.0, 2.0]), np.array([1.0, 2.0]))
    0.875
    """
    from scipy.stats import rankdata

    s = np.asarray(sites, dtype="float64")
    b = np.asarray(background, dtype="float64")
    s, b = s[~np.isnan(s)], b[~np.isnan(b)]
    n1, n0 = s.size, b.size
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([s, b]), method="average")
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _auc_sorted(s: np.ndarray, b_sorted: np.ndarray) -> float:
    """AUC by counting: background values below each site, plus half the equal ones."""
    below = np.searchsorted(b_sorted, s, side="left")
    upto = np.searchsorted(b_sorted, s, side="right")
    return float((below + 0.5 * (upto - below)).sum() / (s.size * b_sorted.size))


def bootstrap_auc(
    sites: np.ndarray,
    background: np.ndarray,
    rng: np.random.Generator,
    draws: int = 1000,
    interval: tuple[float, float] = (5.0, 95.0),
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling sites and background independently.

    Parameters
    ----------
    sites, background : numpy.ndarray
        Scores (NaN values are left out).
    rng : numpy.random.Generator
        Seeded generator.
    draws : int
        Bootstrap resamples.
    interval : (float, float)
        Percentiles (default a 90% interval).

    Returns
    -------
    (float, float)
        Lower and upper percentile of the resampled AUCs (NaN when a side is empty).
    """
    s = np.asarray(sites, dtype="float64")
    b = np.asarray(background, dtype="float64")
    s, b = s[~np.isnan(s)], b[~np.isnan(b)]
    if s.size == 0 or b.size == 0 or draws <= 0:
        return float("nan"), float("nan")
    aucs = np.empty(draws)
    for i in range(draws):
        si = s[rng.integers(0, s.size, s.size)]
        bi = np.sort(b[rng.integers(0, b.size, b.size)])
        aucs[i] = _auc_sorted(si, bi)
    lo, hi = np.percentile(aucs, interval)
    return float(lo), float(hi)


def read_cells(
    path: str | Path, rows: np.ndarray, cols: np.ndarray, *, raw: bool = False
) -> np.ndarray:
    """Values of a single-band raster at cells ``(rows, cols)``, read strip by strip.

    Parameters
    ----------
    path : str or pathlib.Path
        The raster (a run-folder GeoTIFF).
    rows, cols : numpy.ndarray of int
        Cell indices (all inside the raster).
    raw : bool
        Return the raster's own type and values, nodata included (bit records: a uint64
        above 2**53 is not exact in float64).

    Returns
    -------
    numpy.ndarray
        float64 values with the raster's nodata as NaN; with ``raw``, the stored values.
    """
    import rasterio
    from rasterio.windows import Window

    rows = np.asarray(rows, dtype="int64")
    cols = np.asarray(cols, dtype="int64")
    with rasterio.open(path) as src:
        nodata = src.nodata
        out = np.zeros(rows.size, dtype=src.dtypes[0]) if raw else np.full(rows.size, np.nan)
        for r0 in np.unique(rows // STRIP_ROWS) * STRIP_ROWS:
            sel = (rows >= r0) & (rows < r0 + STRIP_ROWS)
            h = min(STRIP_ROWS, src.height - int(r0))
            block = src.read(1, window=Window(0, int(r0), src.width, h))
            vals = block[rows[sel] - r0, cols[sel]]  # only the wanted cells are converted
            if not raw:
                vals = vals.astype("float64")
                if nodata is not None and not np.isnan(nodata):
                    vals[vals == nodata] = np.nan
            out[sel] = vals
    return out


def sample_study_cells(
    code_path: str | Path, n: int, rng: np.random.Generator, outside_code: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` distinct cells uniformly from the study area (code != ``outside_code``).

    Two passes over the rule-code raster by row strips: count study cells per strip, split
    ``n`` over strips by a multivariate hypergeometric draw (exactly uniform sampling without
    replacement), then pick the cells within each strip.

    Parameters
    ----------
    code_path : str or pathlib.Path
        ``excluded_by_rule_<tech>.tif`` of the run.
    n : int
        Cells wanted (all study cells when there are fewer).
    rng : numpy.random.Generator
        Seeded generator.
    outside_code : int
        Code of cells outside the study area.

    Returns
    -------
    rows, cols : numpy.ndarray
        Cell indices, sorted by row.
    """
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(code_path) as src:
        starts = list(range(0, src.height, STRIP_ROWS))

        def strip(r0):
            h = min(STRIP_ROWS, src.height - r0)
            return src.read(1, window=Window(0, r0, src.width, h)) != outside_code

        counts = np.array([np.count_nonzero(strip(r0)) for r0 in starts], dtype="int64")
        n = int(min(n, counts.sum()))
        take = rng.multivariate_hypergeometric(counts, n) if n else np.zeros_like(counts)
        rows, cols = [], []
        for r0, k in zip(starts, take, strict=True):
            if k == 0:
                continue
            rr, cc = np.nonzero(strip(r0))
            pick = rng.choice(rr.size, size=int(k), replace=False)
            rows.append(rr[pick] + r0)
            cols.append(cc[pick])
    if not rows:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    return np.concatenate(rows).astype("int64"), np.concatenate(cols).astype("int64")


@dataclass(frozen=True)
class SiteCells:
    """Cells covered by each site, with area weights.

    Attributes
    ----------
    site : numpy.ndarray of int
        Site index (0-based, in input order) of each entry.
    rows, cols : numpy.ndarray of int
        Cell of each entry (inside the grid).
    weight : numpy.ndarray of float
        Area of the site in the cell, m2 (points: 1).
    """

    site: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    weight: np.ndarray


def site_cells(geoms, transform, shape) -> SiteCells:
    """Cells each site covers on a grid: points by the cell holding them, polygons by area.

    A polygon is weighted by the exact area of its intersection with each cell; a polygon (or
    line) with no area is treated as its representative point. Parts off the grid are left
    out; a site entirely off the grid has no entry.

    Parameters
    ----------
    geoms : sequence of shapely.Geometry
        Site geometries in the grid CRS.
    transform : affine.Affine
        Grid transform (north-up).
    shape : (int, int)
        Grid rows and columns.

    Returns
    -------
    SiteCells
    """
    import shapely

    inv = ~transform
    height, width = shape
    out_s, out_r, out_c, out_w = [], [], [], []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        if g.area > 0:
            x0, y0, x1, y1 = g.bounds
            c0, r0 = inv * (x0, y1)
            c1, r1 = inv * (x1, y0)
            cs = np.arange(max(int(np.floor(c0)), 0), min(int(np.ceil(c1)), width))
            rs = np.arange(max(int(np.floor(r0)), 0), min(int(np.ceil(r1)), height))
            if cs.size and rs.size:
                rr, cc = (a.ravel() for a in np.meshgrid(rs, cs, indexing="ij"))
                xa, ya = transform * (cc, rr)
                xb, yb = transform * (cc + 1, rr + 1)
                boxes = shapely.box(np.minimum(xa, xb), np.minimum(ya, yb),
                                    np.maximum(xa, xb), np.maximum(ya, yb))  # fmt: skip
                area = shapely.area(shapely.intersection(boxes, g))
                keep = area > 0
                out_s.append(np.full(int(keep.sum()), i))
                out_r.append(rr[keep])
                out_c.append(cc[keep])
                out_w.append(area[keep])
            continue
        p = g.representative_point()
        col, row = inv * (p.x, p.y)
        row, col = int(np.floor(row)), int(np.floor(col))
        if 0 <= row < height and 0 <= col < width:
            out_s.append(np.array([i]))
            out_r.append(np.array([row]))
            out_c.append(np.array([col]))
            out_w.append(np.array([1.0]))
    if not out_s:
        z = np.zeros(0, "int64")
        return SiteCells(z, z, z, np.zeros(0))
    return SiteCells(
        np.concatenate(out_s).astype("int64"), np.concatenate(out_r).astype("int64"),
        np.concatenate(out_c).astype("int64"), np.concatenate(out_w).astype("float64"),
    )  # fmt: skip


def weighted_site_means(cells: SiteCells, values: np.ndarray, n_sites: int) -> np.ndarray:
    """Area-weighted mean of ``values`` (one per entry of ``cells``) per site, NaN ignored.

    Parameters
    ----------
    cells : SiteCells
        Entries.
    values : numpy.ndarray
        Value per entry (NaN = no data, left out of the mean).
    n_sites : int
        Number of sites.

    Returns
    -------
    numpy.ndarray
        Mean per site; NaN for sites without a valid value.
    """
    ok = ~np.isnan(values)
    w = np.where(ok, cells.weight, 0.0)
    num = np.bincount(cells.site, weights=np.where(ok, values, 0.0) * w, minlength=n_sites)
    den = np.bincount(cells.site, weights=w, minlength=n_sites)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)
