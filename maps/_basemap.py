"""An offline base map made from the run's own data: hillshade of its DEM and place names.

- Hillshade: the run's DEM (``layers/dem.tif``, schema key ``layers.raster`` with
  ``name="dem"``, the layer the run derives slope from) warped to Web Mercator, shaded with
  the standard illumination model (sun azimuth 315°, altitude 45°; Horn-style central
  differences in metres; vertical exaggeration :data:`Z_FACTOR` because a province view puts
  ~1 km in a pixel) and drawn in greys.
- Place names: prefecture names at their pole of inaccessibility (always), county names
  with a seat dot at theirs (from zoom :data:`COUNTY_LABEL_ZOOM` up; the run has no layer of
  county seats, so the dot marks the point inside the county farthest from its edge, not the
  seat town), all kept inside the province.

Inputs: ``layers.raster`` (dem), ``layers.vector`` (prefectures), ``layers.counties``.
Outputs: layers and labels added to a folium map.
"""

from __future__ import annotations

import numpy as np

from sxplan.maps._common import MapContext, read_optional_table, run_path
from sxplan.maps._raster import png_data_url, read_mercator
from sxplan.maps._text import esc

__all__ = ["COUNTY_LABEL_ZOOM", "Z_FACTOR", "add_hillshade", "add_place_names", "hillshade"]

#: Vertical exaggeration of the hillshade (1 km pixels flatten relief).
Z_FACTOR = 4.0
#: County names appear from this zoom up (the province fills the screen at about 7).
COUNTY_LABEL_ZOOM = 9


def hillshade(
    dem: np.ndarray, dx_m: float, dy_m: float, *, azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0, z_factor: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """Illumination 0-1 of each cell of a north-up DEM (NaN stays NaN).

    Examples
    --------
    A flat DEM is lit at sin(altitude); a slope facing the sun is lit more.

    >>> flat = hillshade(np.zeros((3, 3)), 10.0, 10.0)
    >>> round(float(flat[1, 1]), 4) == round(float(np.sin(np.radians(45))), 4)
    True
    >>> west_up = np.tile(np.array([3.0, 2.0, 1.0]), (3, 1))  # falls to the east
    >>> bool(hillshade(west_up, 10.0, 10.0, azimuth_deg=90.0)[1, 1] > flat[1, 1])
    True
    """
    z = np.asarray(dem, dtype="float64") * z_factor
    dz_dy, dz_dx = np.gradient(z, dy_m, dx_m)  # rows run south: dz_dy is per metre southward
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    # Direction the surface faces (downhill), clockwise from north.
    aspect = np.arctan2(-dz_dx, dz_dy)
    zen, az = np.radians(90.0 - altitude_deg), np.radians(azimuth_deg)
    shade = np.cos(zen) * np.cos(slope) + np.sin(zen) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shade, 0.0, 1.0)


def _inside(area, bounds: list, shape: tuple[int, int], to_gcj02: bool) -> np.ndarray:
    """True for the pixels of a Web Mercator image (``bounds`` in degrees) inside ``area``."""
    import geopandas as gpd
    from rasterio.features import geometry_mask
    from rasterio.transform import from_bounds

    geom = area.union_all()
    if to_gcj02:
        from sxplan.layers.datum import geometry_wgs84_to_gcj02

        geom = geometry_wgs84_to_gcj02(geom)
    merc = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:3857")
    (south, west), (north, east) = bounds
    corners = gpd.GeoSeries.from_xy([west, east], [south, north], crs="EPSG:4326")
    xs, ys = corners.to_crs("EPSG:3857").x, corners.to_crs("EPSG:3857").y
    transform = from_bounds(xs[0], ys[0], xs[1], ys[1], shape[1], shape[0])
    return geometry_mask(list(merc), out_shape=shape, transform=transform, invert=True)


def add_hillshade(m, ctx: MapContext, *, clip=None):
    """Add the hillshade of the run's DEM (on open), inside ``clip``; return the layer or None."""
    from sxplan.maps._elements import KeyedImageOverlay

    name = ctx.t("地形晕渲", "Hillshade")
    path = run_path(ctx, "layers.raster", name="dem")
    if not path.is_file():
        ctx.missing(name, path)
        return None
    dem, bounds = read_mercator(
        path, what="dem", max_px=ctx.config.raster_max_px, to_gcj02=ctx.to_gcj02
    )
    (south, west), (north, east) = bounds
    rows, cols = dem.shape
    lat = np.radians((south + north) / 2.0)
    # Mercator pixel size times cos(latitude) is ground metres.
    dx = np.radians(east - west) * 6378137.0 / cols * np.cos(lat)
    merc = np.log(np.tan(np.pi / 4 + np.radians([south, north]) / 2))
    dy = (merc[1] - merc[0]) * 6378137.0 / rows * np.cos(lat)
    filled = np.where(np.isfinite(dem), dem, np.nanmean(dem))
    shade = hillshade(filled, dx, dy, z_factor=Z_FACTOR)
    grey = np.round(60 + 195 * shade).astype(np.uint8)
    shown = np.isfinite(dem)
    if clip is not None:
        shown &= _inside(clip, bounds, dem.shape, ctx.to_gcj02)
    rgba = np.stack([grey, grey, grey, np.where(shown, 150, 0).astype(np.uint8)])
    layer = KeyedImageOverlay(
        png_data_url(rgba), bounds, name=name, key="hillshade", pane="sxBase", opacity=1.0
    )
    layer.add_to(m)
    ctx.layer_keys.append("hillshade")
    return layer


def _text(ctx: MapContext, zh: str, en: str) -> tuple[str, str]:
    """(plain text for sizing, escaped HTML) of a name: zh and en on two lines for zh+en."""
    if ctx.language == "zh" or not en:
        return zh, esc(zh)
    if ctx.language == "en":
        return en, esc(en)
    return f"{zh}\n{en}", f"{esc(zh)}<br><small>{esc(en)}</small>"


def add_place_names(
    m, ctx: MapContext, *, province, prefectures: str | None, county_zoom: int, placed=None
):
    """Prefecture names (always) and county names with a dot (from ``county_zoom`` up).

    ``placed`` collects the prefecture label boxes so later labels avoid them.
    """
    from sxplan.maps._labels import TextLabels, place_labels

    clip = province.union_all()
    if prefectures:
        pref = read_optional_table(
            ctx, "layers.vector", name=prefectures, columns=[], zh="市名", en="Prefecture names"
        )
        if pref is not None and "name" in pref.columns:
            en_col = pref["name_en"] if "name_en" in pref.columns else [""] * len(pref)
            texts = [
                _text(ctx, str(a), str(b or "")) for a, b in zip(pref["name"], en_col, strict=True)
            ]
            pts = place_labels(pref.geometry, [t for t, _ in texts], clip=clip, placed=placed)
            TextLabels(
                [(p.y, p.x, h) for p, (_, h) in zip(pts, texts, strict=True) if not p.is_empty],
                name=ctx.t("地级市名称", "Prefecture names"),
                key="prefecture_names",
                css_class="sx-label-pref",
            ).add_to(m)
            ctx.layer_keys.append("prefecture_names")
    counties = read_optional_table(
        ctx, "layers.counties", columns=["name"], zh="县名", en="County names"
    )
    if counties is not None:
        from shapely.ops import polylabel

        pts = [polylabel(g, tolerance=0.005) if g.geom_type == "Polygon" else
               polylabel(max(g.geoms, key=lambda p: p.area), tolerance=0.005)
               for g in counties.geometry]  # fmt: skip
        TextLabels(
            [
                (p.y, p.x, esc(n))
                for p, n in zip(pts, counties["name"], strict=True)
                if clip.contains(p)
            ],
            name=ctx.t(f"县名(缩放≥{county_zoom}级)", f"County names (zoom ≥ {county_zoom})"),
            key="county_names",
            css_class=f"sx-label-county sx-minz-{county_zoom}",
        ).add_to(m)
        ctx.layer_keys.append("county_names")
