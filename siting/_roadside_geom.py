"""Vector geometry for roadside PV: road selection, segments, bearings and verge strips.

All geometry is in the analysis grid CRS (projected, metres). Azimuths are degrees clockwise
from *true* north: a grid bearing is corrected by the meridian convergence at the point (in the
Albers grid for China, true north at 114 E points about 5 degrees west of grid north).

Inputs: road lines (GeoDataFrame in the grid CRS). Outputs: segment and strip geometry arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

__all__ = [
    "compass_label",
    "cut_lines",
    "flag_values",
    "grid_north_azimuth_deg",
    "side_strips",
    "station_points",
]

_FALSY = {"", "no", "false", "0", "none", "nan", "n", "f"}
_COMPASS8 = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]


def flag_values(values: pd.Series) -> np.ndarray:
    """Read OSM-style yes/no flags (``tunnel``, ``bridge``, ``oneway``) as booleans.

    Anything but a blank or an explicit no (``no``, ``false``, ``0``) is True, so OSM values
    such as ``viaduct`` (bridge) or ``building_passage`` (tunnel) count. ``oneway=-1`` is True.

    Parameters
    ----------
    values : pandas.Series
        The attribute column (strings, booleans, numbers or nulls).

    Returns
    -------
    numpy.ndarray
        Boolean array.
    """
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").fillna("").str.strip().str.lower()
    return ~text.isin(_FALSY).to_numpy(dtype=bool)


def grid_north_azimuth_deg(x, y, crs) -> np.ndarray:
    """Grid azimuth of true north at points ``(x, y)``, in degrees.

    This is minus the meridian convergence: a direction with grid azimuth ``a`` has true
    azimuth ``a - grid_north_azimuth_deg``. Computed numerically by stepping 0.001 degree of
    latitude north from each point and measuring the step's direction on the grid.

    Parameters
    ----------
    x, y : array_like
        Coordinates in ``crs`` (metres).
    crs : str or pyproj.CRS
        The projected grid CRS.

    Returns
    -------
    numpy.ndarray
        Degrees; negative east of the central meridian of a conic projection.
    """
    crs = CRS.from_user_input(crs)
    to_geo = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    lon, lat = to_geo.transform(x, y)
    x2, y2 = to_grid.transform(lon, np.asarray(lat) + 1e-3)
    return np.degrees(np.arctan2(np.asarray(x2) - x, np.asarray(y2) - y))


def compass_label(azimuth_deg) -> np.ndarray:
    """Eight-point compass label (N, NE, ... NW) of azimuths in degrees from true north."""
    az = np.mod(np.asarray(azimuth_deg, dtype="float64"), 360.0)
    idx = np.floor((az + 22.5) / 45.0).astype(int) % 8
    return np.array(_COMPASS8, dtype=object)[idx]


def _substring(coords: np.ndarray, cum: np.ndarray, a: float, b: float) -> np.ndarray:
    """Vertices of the part of a polyline between distances ``a`` and ``b`` along it."""
    inner = (cum > a) & (cum < b)

    def at(s: float) -> np.ndarray:
        i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(cum) - 2))
        seg = cum[i + 1] - cum[i]
        t = 0.0 if seg == 0 else (s - cum[i]) / seg
        return coords[i] + t * (coords[i + 1] - coords[i])

    return np.vstack([at(a), coords[inner], at(b)])


def cut_lines(
    lines: np.ndarray, segment_length_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each line into equal segments no longer than ``segment_length_m``.

    A line of length ``L`` becomes ``ceil(L / segment_length_m)`` segments of equal length, so
    no short leftover piece is produced (a 2.5 km road at 1 km gives three 833 m segments).

    Parameters
    ----------
    lines : numpy.ndarray of shapely.LineString
        Single-part lines in a metric CRS.
    segment_length_m : float
        Maximum segment length in metres.

    Returns
    -------
    tuple of numpy.ndarray
        ``(segments, parent_index, segment_number)``: the segment LineStrings, the index in
        ``lines`` each came from, and the 0-based segment number along its line.
    """
    out, parent, number = [], [], []
    for i, line in enumerate(lines):
        coords = shapely.get_coordinates(line)
        if len(coords) < 2:
            continue
        steps = np.hypot(*np.diff(coords, axis=0).T)
        keep = np.concatenate([[True], steps > 0])
        coords = coords[keep]
        if len(coords) < 2:
            continue
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
        length = cum[-1]
        n = max(1, math.ceil(length / segment_length_m - 1e-9))
        breaks = np.linspace(0.0, length, n + 1)
        for k in range(n):
            out.append(shapely.LineString(_substring(coords, cum, breaks[k], breaks[k + 1])))
            parent.append(i)
            number.append(k)
    return (
        np.array(out, dtype=object),
        np.asarray(parent, dtype="int64"),
        np.asarray(number, dtype="int64"),
    )


def side_strips(segments: np.ndarray, offset_m: float, width_m: float, side: int) -> np.ndarray:
    """Verge strip polygons between ``offset_m`` and ``offset_m + width_m`` on one side.

    Parameters
    ----------
    segments : numpy.ndarray of shapely.LineString
        Road segments.
    offset_m : float
        Distance from the road centreline to the strip's inner edge, metres.
    width_m : float
        Strip width, metres.
    side : {+1, -1}
        +1 for the left of the direction of travel (digitising direction), -1 for the right.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        A straight segment of length ``L`` gives a rectangle of area ``L * width_m``.
    """
    segments = np.asarray(segments, dtype=object)
    # The strip is the ring "inner offset curve, then the outer one reversed". (A difference of
    # two single-sided buffers leaves zero-width spikes where their shared edges round apart.)
    inner = (
        shapely.offset_curve(segments, side * offset_m, join_style="mitre", mitre_limit=5.0)
        if offset_m > 0
        else segments
    )
    outer = shapely.offset_curve(
        segments, side * (offset_m + width_m), join_style="mitre", mitre_limit=5.0
    )
    out = np.empty(len(segments), dtype=object)
    simple = (shapely.get_type_id(inner) == 1) & (shapely.get_type_id(outer) == 1)
    for i in np.flatnonzero(simple):
        ring = np.vstack(
            [shapely.get_coordinates(inner[i]), shapely.get_coordinates(outer[i])[::-1]]
        )
        out[i] = shapely.Polygon(ring)
    for i in np.flatnonzero(~simple):  # hairpins: fall back to buffer arithmetic
        big = shapely.buffer(segments[i], side * (offset_m + width_m), single_sided=True)
        small = shapely.buffer(segments[i], side * offset_m, single_sided=True)
        out[i] = shapely.difference(big, small) if offset_m > 0 else big
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.make_valid(out[bad])
    return out


def station_points(
    segments: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample stations along segments, with the local unit direction on the grid.

    Each segment gets ``max(3, ceil(L / spacing_m))`` stations at the centres of equal parts.

    Parameters
    ----------
    segments : numpy.ndarray of shapely.LineString
        Road segments.
    spacing_m : float
        Target spacing in metres.

    Returns
    -------
    tuple of numpy.ndarray
        ``(seg_index, x, y, ux, uy)``: the segment each station belongs to, its grid
        coordinates, and the unit tangent (direction of travel) on the grid.
    """
    lengths = shapely.length(segments)
    counts = np.maximum(3, np.ceil(lengths / spacing_m).astype(int))
    seg_index = np.repeat(np.arange(len(segments)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = np.arange(seg_index.size) - np.repeat(starts, counts)
    frac = (k + 0.5) / np.repeat(counts, counts)
    geoms = segments[seg_index]
    seg_len = lengths[seg_index]
    s = frac * seg_len
    h = np.minimum(5.0, 0.25 * seg_len / np.repeat(counts, counts))
    p = shapely.get_coordinates(shapely.line_interpolate_point(geoms, s))
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.maximum(s - h, 0)))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.minimum(s + h, seg_len)))
    d = p1 - p0
    norm = np.hypot(d[:, 0], d[:, 1])
    norm[norm == 0] = 1.0
    return seg_index, p[:, 0], p[:, 1], d[:, 0] / norm, d[:, 1] / norm
