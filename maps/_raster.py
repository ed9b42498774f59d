"""Raster overlays: downsample, reproject to Web Mercator, colour, encode as an in-memory PNG.

A Leaflet image overlay is stretched linearly between its corner coordinates in the map's Web
Mercator (EPSG:3857) space, so the image itself must be on a Web Mercator grid. The source
(an Albers run-grid GeoTIFF, possibly at 30 m for the whole province) is first read decimated
(GDAL reads overviews or resamples block by block, so memory is the size of the small output,
not the source), then warped to EPSG:3857 at most ``max_px`` on the long side. For an Amap base
map the image is resampled once more onto a GCJ-02 grid (each output pixel looks up the WGS84
point it shows), so no overlay is drawn ~0.5 km off.

Inputs: a single-band GeoTIFF with a CRS. Outputs: an RGBA PNG as a ``data:`` URL, the overlay
bounds ``[[south, west], [north, east]]`` in degrees, and the value range shown.
"""

from __future__ import annotations

import base64
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from sxplan.errors import CRSError, LayerIOError
from sxplan.layers.datum import gcj02_to_wgs84, wgs84_to_gcj02

__all__ = [
    "RAMPS",
    "RasterOverlay",
    "colorize",
    "png_data_url",
    "read_mercator",
    "read_overlay",
    "ramp_css",
]

# Colour ramps as (position 0-1, hex) stops, chosen for this project.
RAMPS: dict[str, list[tuple[float, str]]] = {
    "suitability": [(0.0, "#fff5c0"), (0.35, "#fdc05a"), (0.7, "#e8552b"), (1.0, "#8c0a2a")],
    "wind": [(0.0, "#eef4fb"), (0.35, "#8fbde0"), (0.7, "#2f72b8"), (1.0, "#0b2f6b")],
    "green": [(0.0, "#edf8e9"), (0.4, "#a1d99b"), (0.75, "#41ab5d"), (1.0, "#00441b")],
    "yield": [(0.0, "#fde725"), (0.5, "#21918c"), (1.0, "#3b0f70")],
    "parcel": [(0.0, "#f3e8fb"), (0.5, "#b467d6"), (1.0, "#4a0a70")],
    "roadside": [(0.0, "#cbc9e2"), (0.5, "#8c6bb1"), (1.0, "#4d004b")],
}

_WEB_MERCATOR_R = 6378137.0


@dataclass(frozen=True)
class RasterOverlay:
    """A coloured raster ready for ``L.imageOverlay``.

    Attributes
    ----------
    url : str
        ``data:image/png;base64,...``.
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.
    vmin, vmax : float
        Value range mapped to the ends of the colour ramp.
    shape : tuple of int
        Image (rows, columns) in pixels.
    """

    url: str
    bounds: list
    vmin: float
    vmax: float
    shape: tuple[int, int]


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def colorize(
    values: np.ndarray,
    vmin: float,
    vmax: float,
    ramp: str,
    *,
    alpha: int = 210,
    levels: int | None = None,
) -> np.ndarray:
    """Map values to RGBA through a colour ramp; NaN becomes transparent.

    Parameters
    ----------
    values : numpy.ndarray
        2-D float array; NaN where there is no data.
    vmin, vmax : float
        Values mapped to the two ends of the ramp (clipped outside).
    ramp : str
        Key of :data:`RAMPS`.
    alpha : int
        Opacity (0-255) of valid pixels.
    levels : int, optional
        Quantise to this many colours (smaller PNGs; 64 is indistinguishable on a map).

    Returns
    -------
    numpy.ndarray
        ``(4, rows, cols)`` uint8 array, band order RGBA.
    """
    stops = RAMPS[ramp]
    pos = np.array([p for p, _ in stops])
    rgb = np.array([_hex_rgb(c) for _, c in stops], dtype=float)
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((values - vmin) / span, 0.0, 1.0)
    valid = np.isfinite(values)
    t = np.where(valid, t, 0.0)
    if levels is not None and levels > 1:
        t = np.round(t * (levels - 1)) / (levels - 1)
    out = np.zeros((4, *values.shape), dtype=np.uint8)
    for band in range(3):
        out[band] = np.round(np.interp(t, pos, rgb[:, band])).astype(np.uint8)
    out[3] = np.where(valid, alpha, 0).astype(np.uint8)
    return out


def ramp_css(ramp: str) -> str:
    """Return a CSS ``linear-gradient`` for a legend bar of a ramp.

    Parameters
    ----------
    ramp : str
        Key of :data:`RAMPS`.

    Returns
    -------
    str
        CSS value.
    """
    stops = ", ".join(f"{c} {p * 100:.0f}%" for p, c in RAMPS[ramp])
    return f"linear-gradient(to right, {stops})"


def png_data_url(rgba: np.ndarray) -> str:
    """Encode a ``(4, rows, cols)`` uint8 array as a PNG ``data:`` URL (GDAL's PNG driver).

    Parameters
    ----------
    rgba : numpy.ndarray
        Band-first RGBA image.

    Returns
    -------
    str
        ``data:image/png;base64,...``.
    """
    count, height, width = rgba.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(
                driver="PNG", width=width, height=height, count=count, dtype="uint8"
            ) as dst:
                dst.write(rgba)
            data = mem.read()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _merc_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(x / _WEB_MERCATOR_R)
    lat = np.degrees(2.0 * np.arctan(np.exp(y / _WEB_MERCATOR_R)) - math.pi / 2.0)
    return lon, lat


def _lonlat_to_merc(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _WEB_MERCATOR_R * np.radians(lon)
    y = _WEB_MERCATOR_R * np.log(np.tan(math.pi / 4.0 + np.radians(lat) / 2.0))
    return x, y


def _to_gcj02_grid(values: np.ndarray, transform) -> tuple[np.ndarray, tuple]:
    """Resample a Web Mercator WGS84 image onto a Web Mercator grid in GCJ-02 (nearest)."""
    rows, cols = values.shape
    left, top = transform.c, transform.f
    right, bottom = left + cols * transform.a, top + rows * transform.e
    lon_c, lat_c = _merc_to_lonlat(
        np.array([left, right, left, right]), np.array([top] * 2 + [bottom] * 2)
    )
    glon, glat = wgs84_to_gcj02(lon_c, lat_c)
    gx, gy = _lonlat_to_merc(np.asarray(glon), np.asarray(glat))
    g_left, g_right, g_bottom, g_top = gx.min(), gx.max(), gy.min(), gy.max()
    dx, dy = (g_right - g_left) / cols, (g_top - g_bottom) / rows
    xs = g_left + (np.arange(cols) + 0.5) * dx
    ys = g_top - (np.arange(rows) + 0.5) * dy
    xx, yy = np.meshgrid(xs, ys)
    lon, lat = _merc_to_lonlat(xx, yy)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    sx, sy = _lonlat_to_merc(np.asarray(wlon), np.asarray(wlat))
    col = np.floor((sx - left) / transform.a).astype(int)
    row = np.floor((sy - top) / transform.e).astype(int)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    out = np.full(values.shape, np.nan, dtype=values.dtype)
    out[inside] = values[row[inside], col[inside]]
    return out, (g_left, g_bottom, g_right, g_top)


def read_mercator(
    path: Path,
    *,
    what: str,
    max_px: int,
    resampling: str = "average",
    to_gcj02: bool = False,
    positive_only: bool = False,
) -> tuple[np.ndarray, list]:
    """Read a single-band raster, decimated and warped to Web Mercator (EPSG:3857).

    Parameters
    ----------
    path : pathlib.Path
        GeoTIFF with a CRS.
    what : str
        Layer name, for messages.
    max_px : int
        Longest side of the output image in pixels.
    resampling : {"average", "nearest"}
        ``average`` for continuous values, ``nearest`` for codes (categorical rasters).
    to_gcj02 : bool
        Resample onto a GCJ-02 grid for the Amap base map.
    positive_only : bool
        Treat values <= 0 as empty (NaN) before warping.

    Returns
    -------
    values : numpy.ndarray
        float32 image, NaN where the source has no data.
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.

    Raises
    ------
    LayerIOError
        If the file is missing or unreadable.
    CRSError
        If the raster has no CRS.
    """
    if not path.is_file():
        raise LayerIOError(f"map layer '{what}': raster {path} does not exist")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise LayerIOError(
            f"map layer '{what}': {path} is not a raster GDAL can read ({exc})"
        ) from exc
    with src:
        if src.crs is None:
            raise CRSError(
                f"map layer '{what}': raster {path} has no CRS; the stage that wrote it must set "
                "the run grid's CRS"
            )
        # Decimated read: at most 2 * max_px on the long side, memory bounded by that size.
        factor = max(1.0, max(src.height, src.width) / (2.0 * max_px))
        rows = max(1, int(math.ceil(src.height / factor)))
        cols = max(1, int(math.ceil(src.width / factor)))
        method = Resampling.average if resampling == "average" else Resampling.nearest
        band = src.read(1, out_shape=(rows, cols), resampling=method, masked=True)
        data = np.ma.filled(band.astype("float32"), np.nan)
        src_transform = src.transform @ Affine.scale(src.width / cols, src.height / rows)
        src_crs = src.crs
    if positive_only:
        data = np.where(data > 0, data, np.nan)
    dst_crs = "EPSG:3857"
    left, bottom, right, top = rasterio.transform.array_bounds(rows, cols, src_transform)
    transform, width, height = calculate_default_transform(
        src_crs, dst_crs, cols, rows, left=left, bottom=bottom, right=right, top=top
    )
    scale = max(1.0, max(width, height) / float(max_px))
    width, height = max(1, int(round(width / scale))), max(1, int(round(height / scale)))
    xmin, ymin, xmax, ymax = transform_bounds(src_crs, dst_crs, left, bottom, right, top)
    transform = rasterio.transform.from_bounds(xmin, ymin, xmax, ymax, width, height)
    out = np.full((height, width), np.nan, dtype="float32")
    reproject(
        source=data,
        destination=out,
        src_transform=src_transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=dst_crs,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear if resampling == "average" else Resampling.nearest,
    )
    if to_gcj02:
        out, (xmin, ymin, xmax, ymax) = _to_gcj02_grid(out, transform)
    lon, lat = _merc_to_lonlat(np.array([xmin, xmax]), np.array([ymin, ymax]))
    bounds = [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]
    return out, bounds


def read_overlay(
    path: Path,
    *,
    what: str,
    max_px: int,
    ramp: str,
    value_range: tuple[float, float] | None = None,
    resampling: str = "average",
    to_gcj02: bool = False,
    positive_only: bool = False,
) -> RasterOverlay:
    """Read a single-band raster as a coloured Web Mercator PNG overlay.

    Parameters
    ----------
    path : pathlib.Path
        GeoTIFF with a CRS (for example ``siting/suitability_pv.tif`` on the Albers run grid).
    what : str
        Layer name, for messages.
    max_px : int
        Longest side of the overlay image in pixels.
    ramp : str
        Key of :data:`RAMPS`.
    value_range : tuple of float, optional
        Values at the two ends of the ramp; the data's min and max when omitted (a 0-1 range
        when the data lie inside it).
    resampling : {"average", "nearest"}
        How source cells are combined when downsampling (``average`` for continuous values and
        for 0/1 rasters shown as a share of eligible cells).
    to_gcj02 : bool
        Resample onto a GCJ-02 grid for the Amap base map.
    positive_only : bool
        Treat values <= 0 as empty (transparent), e.g. for an eligible-land share.

    Returns
    -------
    RasterOverlay
        The image and its bounds.

    Raises
    ------
    LayerIOError
        If the file is missing or unreadable, or holds no valid cell.
    CRSError
        If the raster has no CRS.
    """
    out, bounds = read_mercator(
        path,
        what=what,
        max_px=max_px,
        resampling=resampling,
        to_gcj02=to_gcj02,
        positive_only=positive_only,
    )
    finite = out[np.isfinite(out)]
    if finite.size == 0:
        raise LayerIOError(f"map layer '{what}': raster {path} holds no valid cell to show")
    if value_range is None:
        lo, hi = float(finite.min()), float(finite.max())
        value_range = (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)
    rgba = colorize(out, value_range[0], value_range[1], ramp, levels=64)
    return RasterOverlay(
        url=png_data_url(rgba),
        bounds=bounds,
        vmin=float(value_range[0]),
        vmax=float(value_range[1]),
        shape=out.shape,
    )
