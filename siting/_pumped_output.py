"""Tables and layers of the pumped-storage search: the pairs CSV, reservoirs and tunnels.

Inputs: the kept pairs (:func:`sxplan.siting.pumped_storage.pair_reservoirs` rows), the
reservoirs, dam-site coordinates, the grid, counties, vectors and settings.
Outputs: ``siting/pumped_storage.csv`` and ``siting/pumped_storage.gpkg`` (layers
``ps_upper``, ``ps_lower``, ``ps_tunnel``), columns as in :mod:`sxplan.schema`
(``siting.pumped_storage``, ``siting.pumped_upper``, ``siting.pumped_lower``,
``siting.pumped_tunnel``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sxplan.layers.io import write_csv, write_gpkg_layers
from sxplan.layers.tables import round_for_csv
from sxplan.schema import dataset

__all__ = ["pair_table", "write_outputs"]


def _cells_polygon(cells: np.ndarray, grid) -> shapely.Geometry:
    rows, cols = np.divmod(np.asarray(cells), grid.width)
    t = grid.transform
    x0, y0 = t.c + cols * t.a, t.f + rows * t.e
    boxes = shapely.box(x0, y0 + t.e, x0 + t.a, y0)
    return shapely.union_all(boxes)


def _county_of(points: gpd.GeoSeries, counties) -> pd.DataFrame:
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points, crs=counties.crs),
        counties[["adcode", "name", "geometry"]], how="left", predicate="within",
    )  # fmt: skip
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined[["adcode", "name"]].rename(columns={"name": "county"}).fillna("")


def pair_table(best: pd.DataFrame, res, xy: np.ndarray, grid, counties, vectors, cfg):
    """The pairs table and its three layers (upper, lower, tunnel), in EPSG:4326.

    Returns
    -------
    tuple
        ``(table, {layer name: GeoDataFrame})``.
    """
    crs = grid.crs
    up, lo = best["upper"].to_numpy(int), best["lower"].to_numpy(int)
    n = len(best)
    ids = [f"PS-{k + 1:03d}" for k in range(n)]
    p_up = gpd.GeoSeries(shapely.points(xy[up]) if n else [], crs=crs)
    p_lo = gpd.GeoSeries(shapely.points(xy[lo]) if n else [], crs=crs)
    ll_up, ll_lo = p_up.to_crs("EPSG:4326"), p_lo.to_crs("EPSG:4326")
    where = (
        _county_of(p_up, counties.to_crs(crs)) if n else pd.DataFrame({"adcode": [], "county": []})
    )
    cell_km2 = grid.cell_area_km2
    waters = {
        role: [
            res.water_cells(i, h) for i, h in zip(idx, best[f"{role}_wall_height_m"], strict=True)
        ]
        for role, idx in (("upper", up), ("lower", lo))
    }
    f = {c: best[c].to_numpy(float) for c in best.columns if c not in ("upper", "lower")}
    table = pd.DataFrame({
        "pair_id": ids, "rank": np.arange(1, n + 1), "head_m": f["head_m"],
        "distance_km": f["distance_km"], "distance_to_head": f["distance_to_head"],
        "energy_gwh": f["energy_gwh"], "power_mw": f["energy_gwh"] * 1000.0 / cfg.cycle_hours,
        "cycle_hours": np.full(n, cfg.cycle_hours), "usable_volume_gl": f["usable_volume_gl"],
        "volume_gl": f["volume_gl"], "dam_volume_mm3": f["dam_volume_mm3"],
        "water_rock": f["water_rock"], "rock_m3_per_mwh": f["rock_m3_per_mwh"],
        "upper_elev_m": res.site_elev_m[up], "lower_elev_m": res.site_elev_m[lo],
        "upper_wall_height_m": f["upper_wall_height_m"],
        "lower_wall_height_m": f["lower_wall_height_m"],
        "upper_area_km2": np.array([len(w) for w in waters["upper"]]) * cell_km2,
        "lower_area_km2": np.array([len(w) for w in waters["lower"]]) * cell_km2,
        "upper_lon": ll_up.x.to_numpy(), "upper_lat": ll_up.y.to_numpy(),
        "lower_lon": ll_lo.x.to_numpy(), "lower_lat": ll_lo.y.to_numpy(),
        "adcode": where["adcode"].astype(str).to_numpy(),
        "county": where["county"].astype(str).to_numpy(),
    })  # fmt: skip
    tunnels = shapely.linestrings(np.stack([xy[up], xy[lo]], axis=1)) if n else []
    if cfg.substations_layer:
        subs = vectors.get(cfg.substations_layer)
        if subs is None:
            from sxplan.errors import ConfigError

            raise ConfigError(
                f"pumped_storage.substations_layer: no vector layer named "
                f"'{cfg.substations_layer}' (the run has {sorted(vectors)})"
            )
        mid = gpd.GeoSeries(shapely.centroid(tunnels) if n else [], crs=crs)
        geoms = subs.to_crs(crs).geometry.union_all()
        table["dist_substation_km"] = mid.distance(geoms).to_numpy() / 1000.0 if n else []
    key = ["pair_id", "rank", "head_m", "energy_gwh"]
    layers = {}
    for role in ("upper", "lower"):
        polys = [_cells_polygon(w, grid) for w in waters[role]]
        layers[dataset(f"siting.pumped_{role}").layer_name()] = gpd.GeoDataFrame(
            table[key].assign(
                elev_m=table[f"{role}_elev_m"],
                wall_height_m=table[f"{role}_wall_height_m"],
                volume_gl=table["volume_gl"],
                area_km2=table[f"{role}_area_km2"],
            ),  # fmt: skip
            geometry=polys,
            crs=crs,
        ).to_crs("EPSG:4326")
    layers[dataset("siting.pumped_tunnel").layer_name()] = gpd.GeoDataFrame(
        table[[*key, "distance_km", "power_mw"]], geometry=list(tunnels), crs=crs
    ).to_crs("EPSG:4326")
    return table, layers


def write_outputs(table: pd.DataFrame, layers: dict, out_dir: Path) -> dict:
    """Check the table and layers against the schema and write them (atomic writes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = dataset("siting.pumped_storage")
    csv = write_csv(ds.check(round_for_csv(table)), out_dir / ds.filename())
    for role in ("upper", "lower", "tunnel"):
        d = dataset(f"siting.pumped_{role}")
        d.check(layers[d.layer_name()])
    gpkg = write_gpkg_layers(layers, out_dir / dataset("siting.pumped_upper").filename())
    return {"pumped_storage": csv, "pumped_storage_gpkg": gpkg}
