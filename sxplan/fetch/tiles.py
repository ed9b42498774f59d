"""Which tiles of a regular degree grid cover a bounding box, and what they are called.

Copernicus DEM (1 degree) and ESA WorldCover (3 degrees) name each tile by its south-west
corner: ``N37``/``S05`` for latitude, ``E112``/``W072`` for longitude.

Inputs: a (west, south, east, north) box in degrees. Outputs: tile corners and names.
"""

from __future__ import annotations

import math

__all__ = ["covering_tiles", "tile_name"]


def covering_tiles(bounds: tuple[float, float, float, float], size_deg: int) -> list[tuple]:
    """Return the south-west corners ``(lat, lon)`` of the tiles that cover ``bounds``.

    A box edge lying exactly on a tile edge does not pull in the next tile.

    Parameters
    ----------
    bounds : tuple of float
        (west, south, east, north) in degrees.
    size_deg : int
        Tile side in degrees; tile corners are multiples of it.

    Returns
    -------
    list of tuple of int
        ``(lat, lon)``, south to north, west to east.

    Examples
    --------
    >>> covering_tiles((111.9, 36.9, 112.1, 37.1), 1)
    [(36, 111), (36, 112), (37, 111), (37, 112)]
    >>> len(covering_tiles((110.2, 34.5, 114.6, 40.7), 3))  # Shanxi: 3 x 3 WorldCover tiles
    9
    >>> covering_tiles((112.0, 37.0, 113.0, 38.0), 1)
    [(37, 112)]
    """
    west, south, east, north = bounds
    if not (west < east and south < north):
        raise ValueError(f"empty box {bounds}")
    lat0 = math.floor(south / size_deg) * size_deg
    lon0 = math.floor(west / size_deg) * size_deg
    lats = range(lat0, math.ceil(north / size_deg) * size_deg, size_deg)
    lons = range(lon0, math.ceil(east / size_deg) * size_deg, size_deg)
    return [(lat, lon) for lat in lats for lon in lons]


def tile_name(template: str, lat: int, lon: int) -> str:
    """Fill a tile-name template with hemisphere letters and absolute degrees.

    Fields: ``{ns}`` (N/S), ``{lat}`` (absolute latitude), ``{ew}`` (E/W), ``{lon}``.

    Examples
    --------
    >>> tile_name("Copernicus_DSM_COG_10_{ns}{lat:02d}_00_{ew}{lon:03d}_00_DEM", 37, 112)
    'Copernicus_DSM_COG_10_N37_00_E112_00_DEM'
    >>> tile_name("ESA_WorldCover_10m_2021_v200_{ns}{lat:02d}{ew}{lon:03d}_Map", -3, -72)
    'ESA_WorldCover_10m_2021_v200_S03W072_Map'
    """
    return template.format(
        ns="N" if lat >= 0 else "S", lat=abs(lat), ew="E" if lon >= 0 else "W", lon=abs(lon)
    )
