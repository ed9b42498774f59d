"""Generate a seeded synthetic Shanxi-extent dataset at any resolution, window by window.

Usage::

    .venv/bin/python benchmarks/generate.py --res 100 --out /work/bench-data/r100
    .venv/bin/python benchmarks/generate.py --res 30 --out /work/bench-data/r30 --workers 2

Inputs: a seed and a resolution (metres). Nothing is downloaded.

Outputs (in ``--out``; every file written atomically, ``manifest.json`` last):

- ``dem.tif``        int16 elevation (m), 200-3050 m with ridged mountain belts
- ``landcover.tif``  uint8 IGBP codes (13 = urban, about 2.5 %), nodata 255
- ``ghi.tif``        float32 global horizontal irradiation (kWh/m2/yr)
- ``wind.tif``       float32 mean wind speed at hub height (m/s)
- ``province.gpkg``  the outline (about 156,700 km2), EPSG:4326
- ``protected_areas.gpkg``  about 50 polygons covering about 8 % of the province
- ``highways.gpkg``  about 6,000 km of lines inside the province (plus exits)
- ``counties.gpkg``  117 Voronoi counties of the seats, clipped to the province,
  with ``adcode``, ``name``, ``prefecture``, ``prefecture_adcode``
- ``manifest.json``  parameters, grid, file sizes and checksums, land-cover shares

All rasters share one grid: :data:`sxplan.layers.grid.ALBERS_CHINA` over the province plus a 2 km
margin,
tiled 512x512, compressed (DEFLATE by default, ``--compress zstd`` optional), with a predictor.
Each raster cell is a pure function of its coordinates and the seed, so the tiling does not
change any value; ``--workers`` only changes the speed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _areas import AREAS  # noqa: E402
from _synth import IGBP, City, Terrain, shanxi_like_outline_lonlat  # noqa: E402
from _synth_rasters import RASTERS, write_rasters  # noqa: E402

GENERATOR_VERSION = 1
MARGIN_M = 2_000.0
N_COUNTIES = 117
N_PREFECTURES = 11
N_PROTECTED = 50
PROTECTED_SHARE = 0.08
HIGHWAY_KM = 6_000.0
ADMIN_GPKG = Path(__file__).resolve().parents[1] / "sxplan" / "data" / "shanxi" / "admin.gpkg"


def _log(msg: str) -> None:
    print(msg, flush=True)


def province_outline(seed: int, source: str, area: str = "shanxi"):
    """Return (polygon in EPSG:4326, description of its source)."""
    if area == "china":
        if source != "synthetic":
            raise SystemExit("--area china has only the synthetic outline")
        from _synth_china import china_like_outline_lonlat

        return china_like_outline_lonlat(seed), "synthetic China-sized sketch"
    if source == "admin":
        import geopandas as gpd
        import pyogrio

        if not ADMIN_GPKG.exists():
            raise SystemExit(f"--outline admin: {ADMIN_GPKG} does not exist yet; use synthetic")
        layers = [name for name, _ in pyogrio.list_layers(ADMIN_GPKG)]
        layer = "province" if "province" in layers else layers[0]
        gdf = gpd.read_file(ADMIN_GPKG, layer=layer).to_crs("EPSG:4326")
        return gdf.union_all(), f"{ADMIN_GPKG.name}:{layer}"
    return shanxi_like_outline_lonlat(seed), "synthetic"


def sample_seats(province_albers, n: int, rng, min_dist_m: float) -> np.ndarray:
    """Poisson-disc-like seeded points inside the province (Albers metres)."""
    import shapely

    xmin, ymin, xmax, ymax = province_albers.bounds
    from shapely.prepared import prep

    prepared = prep(province_albers)
    pts = np.empty((n, 2))
    k = 0
    d = min_dist_m
    tries = 0
    while k < n:
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        tries += 1
        if tries % 20_000 == 0:
            d *= 0.95  # relax if the province is too small for n points at this spacing
        inner = shapely.Point(x, y)
        if not prepared.contains(inner) or province_albers.exterior.distance(inner) < 4_000:
            continue
        if k and np.min(np.hypot(*(pts[:k] - (x, y)).T)) < d:
            continue
        pts[k] = (x, y)
        k += 1
    return pts


def choose_prefectures(seats: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``k`` prefecture seats among the county seats (k-means), and assign each county."""
    centres = seats[rng.choice(len(seats), k, replace=False)]
    for _ in range(30):
        lab = np.argmin(((seats[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array(
            [seats[lab == j].mean(0) if (lab == j).any() else centres[j] for j in range(k)]
        )
    # the seat nearest each centre becomes the prefecture seat
    pref_idx = np.array([np.argmin(((seats - c) ** 2).sum(1)) for c in centres])
    lab = np.argmin(((seats[:, None, :] - seats[pref_idx][None]) ** 2).sum(-1), axis=1)
    # number prefectures north to south, like adcodes roughly do not, but stably
    order = np.argsort(-seats[pref_idx, 1])
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return pref_idx[order], rank[lab]


def meander_line(a, b, rng, step_m: float = 1_000.0):
    """A gently meandering polyline from ``a`` to ``b`` (Albers metres)."""
    import shapely

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    length = float(np.hypot(*(b - a)))
    n = max(2, int(length / step_m) + 1)
    s = np.linspace(0.0, 1.0, n)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / length
    amp = 0.035 * length
    off = np.zeros(n)
    for k in (1, 2, 3):
        off += (amp / k) * rng.uniform(-1, 1) * np.sin(np.pi * k * s)
    pts = a[None] + s[:, None] * (b - a)[None] + off[:, None] * normal[None]
    return shapely.LineString(pts)


def build_highways(province, seats, pref_idx, rng, target_km: float):
    """A network over the seats: spanning tree, then Delaunay chords, until ``target_km``."""
    import shapely
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial import Delaunay

    tri = Delaunay(seats)
    edges = set()
    for simplex in tri.simplices:
        for i in range(3):
            p, q = sorted((int(simplex[i]), int(simplex[(i + 1) % 3])))
            edges.add((p, q))
    edges = sorted(edges)
    length = {e: float(np.hypot(*(seats[e[0]] - seats[e[1]]))) for e in edges}
    n = len(seats)
    w = np.zeros((n, n))
    for (p, q), d in length.items():
        w[p, q] = d
    mst = minimum_spanning_tree(w).tocoo()
    chosen = [tuple(sorted((int(p), int(q)))) for p, q in zip(mst.row, mst.col, strict=True)]
    is_pref = np.zeros(n, bool)
    is_pref[pref_idx] = True
    chosen_set = set(chosen)
    rest = [e for e in edges if e not in chosen_set and length[e] < 90_000]
    # prefer links between prefecture seats, then short links; seeded tie-breaking
    prio = [
        length[e] * (0.5 if is_pref[e[0]] and is_pref[e[1]] else 1.0) * rng.uniform(0.8, 1.25)
        for e in rest
    ]
    rest = [rest[i] for i in np.argsort(prio)]
    lines = [meander_line(seats[p], seats[q], rng) for p, q in chosen]
    inside_km = sum(shapely.intersection(ln, province).length for ln in lines) / 1e3
    for p, q in rest:
        if inside_km >= target_km:
            break
        ln = meander_line(seats[p], seats[q], rng)
        lines.append(ln)
        inside_km += shapely.intersection(ln, province).length / 1e3
    # exits: from the prefecture seats nearest the border, straight out across it
    centre = np.asarray(province.centroid.coords[0])
    for i in pref_idx:
        d_border = province.exterior.distance(shapely.Point(seats[i]))
        if d_border < 45_000:
            direction = (seats[i] - centre) / np.hypot(*(seats[i] - centre))
            lines.append(meander_line(seats[i], seats[i] + direction * (d_border + 25_000), rng))
    return lines


def star_polygon(cx, cy, area_m2, rng, n: int = 72):
    """An irregular blob of about ``area_m2`` around (cx, cy)."""
    import shapely
    import shapely.affinity  # not loaded by `import shapely`

    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 4, 5, 7):
        r += (0.35 / k**0.7) * rng.uniform(-1, 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.35, None)
    poly = shapely.Polygon(np.column_stack([np.cos(theta) * r, np.sin(theta) * r]))
    s = math.sqrt(area_m2 / poly.area)
    # elongate a little in a random direction
    stretch = rng.uniform(1.0, 1.8)
    poly = shapely.affinity.scale(poly, s * stretch, s / stretch, origin=(0, 0))
    poly = shapely.affinity.rotate(poly, rng.uniform(0, 180), origin=(0, 0))
    return shapely.affinity.translate(poly, cx, cy)


def _too_close(p, polys, boxes, gap_m: float) -> bool:
    """Is ``p`` within ``gap_m`` of any of ``polys`` (bounding boxes ``boxes``)?"""
    import shapely

    b = np.asarray(boxes)
    x0, y0, x1, y1 = p.bounds
    near = (b[:, 0] < x1 + gap_m) & (b[:, 2] > x0 - gap_m)
    near &= (b[:, 1] < y1 + gap_m) & (b[:, 3] > y0 - gap_m)
    if not near.any():
        return False
    return bool(np.any(shapely.distance(p, np.asarray(polys, dtype=object)[near]) < gap_m))


def build_protected(province, terrain: Terrain, rng, n: int, share: float, step_m=2_000.0):
    """Protected areas in the mountains, not overlapping, about ``share`` of the province.

    Placement is weighted by relief and elevation sampled every ``step_m``; at a coarse step
    (national scale) the large-scale fields stand in for the full ones.
    """
    import shapely

    xmin, ymin, xmax, ymax = province.bounds
    xs = np.arange(xmin + step_m / 2, xmax, step_m)
    ys = np.arange(ymax - step_m / 2, ymin, -step_m)
    if step_m <= 2_000.0:
        f = terrain.fields(xs, ys)
        relief, dem = f["relief"], f["dem_m"]
    else:  # the fine noise octaves would need a lattice of the whole extent at 120 m
        dem, relief = terrain._macro(xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(province, gx, gy)
    weight = np.where(inside, (relief**2) * np.clip(dem - 900, 0, None), 0)
    weight = weight.ravel() / weight.sum()
    target = share * province.area
    sizes = rng.lognormal(mean=0.0, sigma=0.8, size=n)
    sizes *= target * 1.08 / sizes.sum()  # clipping at the border and overlaps lose a little
    polys: list = []
    boxes: list = []
    cdf = np.cumsum(weight)
    for size in sorted(sizes, reverse=True):
        for _ in range(400):
            if step_m <= 2_000.0:
                k = rng.choice(weight.size, p=weight)
            else:  # the same draw without re-normalising a large lattice on every call
                k = min(
                    int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), cdf.size - 1
                )
            p = star_polygon(gx.ravel()[k], gy.ravel()[k], size, rng)
            p = shapely.intersection(p, province)
            if p.is_empty or p.area < 0.5 * size:
                continue
            if polys and _too_close(p, polys, boxes, 2_000.0):
                continue
            polys.append(p)
            boxes.append(p.bounds)
            break
    return polys


def write_vectors(out: Path, province, seats, pref_idx, pref_of, highways, protected, area):
    """Counties (Voronoi), protected areas, highways and the outline, as EPSG:4326 GPKGs."""
    import geopandas as gpd
    import shapely

    from sxplan.layers.grid import ALBERS_CHINA
    from sxplan.layers.io import write_gpkg

    vor = shapely.voronoi_polygons(
        shapely.MultiPoint(seats), extend_to=shapely.buffer(province, 50_000)
    )
    cells = np.asarray(vor.geoms)
    tree = shapely.STRtree(cells)
    county_geom = []
    for x, y in seats:
        pt = shapely.Point(x, y)
        cell = next(c for c in cells[np.sort(tree.query(pt))] if c.contains(pt))
        county_geom.append(shapely.intersection(cell, province))
    order = np.lexsort((seats[:, 0], -seats[:, 1]))
    rows = []
    counter = {}
    base, dg = area["adcode_base"], area["digits"]
    pref_seats = set(pref_idx.tolist())
    for i in order:
        pref = int(pref_of[i]) + 1
        counter[pref] = counter.get(pref, 0) + 1
        rows.append(
            {
                "adcode": base + pref * 100 + counter[pref],
                "name": f"合成县{len(rows) + 1:0{dg}d}",
                "prefecture": f"合成市{pref:0{dg - 1}d}",
                "prefecture_adcode": base + pref * 100,
                "is_prefecture_seat": bool(i in pref_seats),
                "seat_x_m": float(seats[i, 0]),
                "seat_y_m": float(seats[i, 1]),
                "geometry": county_geom[i],
            }
        )
    if max(counter.values()) > 99:
        raise SystemExit("a prefecture has over 99 counties: its adcodes would overlap")
    files = {}
    counties = gpd.GeoDataFrame(rows, crs=ALBERS_CHINA)
    counties["area_km2"] = counties.area / 1e6
    files["counties"] = write_gpkg(counties.to_crs("EPSG:4326"), out / "counties.gpkg", "counties")
    categories = ("nature_reserve", "forest_park", "scenic_area")
    pa = gpd.GeoDataFrame(
        {
            "name": [f"合成保护区{i + 1:0{dg - 1}d}" for i in range(len(protected))],
            "category": [categories[i % 3] for i in range(len(protected))],
        },
        geometry=protected,
        crs=ALBERS_CHINA,
    )
    pa["area_km2"] = pa.area / 1e6
    files["protected_areas"] = write_gpkg(
        pa.to_crs("EPSG:4326"), out / "protected_areas.gpkg", "protected_areas"
    )
    hw = gpd.GeoDataFrame(
        {"ref": [f"G{i + 1:03d}" for i in range(len(highways))]},
        geometry=highways,
        crs=ALBERS_CHINA,
    )
    hw["length_km"] = hw.length / 1e3
    files["highways"] = write_gpkg(hw.to_crs("EPSG:4326"), out / "highways.gpkg", "highways")
    prov = gpd.GeoDataFrame(
        {"name": [area["province_name"]]}, geometry=[province], crs=ALBERS_CHINA
    )
    prov["area_km2"] = prov.area / 1e6
    files["province"] = write_gpkg(prov.to_crs("EPSG:4326"), out / "province.gpkg", "province")
    stats = {
        "province_area_km2": float(province.area / 1e6),
        "n_counties": len(counties),
        "n_protected_areas": len(pa),
        "protected_share_of_province": float(pa.area.sum() / province.area),
        "highway_km_total": float(hw.length.sum() / 1e3),
        "highway_km_inside_province": float(
            sum(shapely.intersection(g, province).length for g in highways) / 1e3
        ),
    }
    return files, stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=float, required=True, help="cell size in metres (e.g. 30)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--seed", type=int, default=20230101)
    ap.add_argument("--workers", type=int, default=2, help="threads computing tiles")
    ap.add_argument("--compress", choices=["deflate", "zstd"], default="deflate")
    ap.add_argument("--block", type=int, default=512, help="GeoTIFF block side (cells)")
    ap.add_argument(
        "--outline",
        choices=["synthetic", "admin"],
        default="synthetic",
        help="synthetic Shanxi-like outline (default, reproducible) or the demo admin.gpkg",
    )
    ap.add_argument(
        "--area",
        choices=sorted(AREAS),
        default="shanxi",
        help="shanxi (default: the synthetic province) or china (a synthetic China-sized area, "
        "about 9.6 M km2, 2,800 counties; issue 17's national scale)",
    )
    ap.add_argument(
        "--rasters",
        default=",".join(RASTERS),
        help="comma-separated rasters to write (default all: %(default)s); e.g. dem,landcover "
        "for the exclusion job alone, which reads no GHI or wind (China at 30 m: about 45 GB less)",
    )
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    area = AREAS[args.area]
    names = tuple(dict.fromkeys(n.strip() for n in args.rasters.split(",") if n.strip()))
    unknown = [n for n in names if n not in RASTERS]
    if unknown or not names:
        print(
            f"--rasters {args.rasters!r}: unknown name(s) {unknown}; choose from {list(RASTERS)}",
            file=sys.stderr,
        )
        return 2

    import shapely
    from pyproj import Transformer

    from sxplan.layers.grid import ALBERS_CHINA, GridSpec
    from sxplan.layers.io import atomic_path, file_sha256

    out: Path = args.out
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and not args.overwrite:
        print(f"{manifest_path} exists; pass --overwrite to regenerate", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings = {}
    rng = np.random.default_rng(args.seed)

    outline_ll, outline_src = province_outline(args.seed, args.outline, args.area)
    to_alb = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
    province = shapely.transform(
        outline_ll, lambda xy: np.column_stack(to_alb.transform(xy[:, 0], xy[:, 1]))
    )
    grid = GridSpec.from_geometry(outline_ll, "EPSG:4326", args.res, margin_m=MARGIN_M)
    _log(
        f"grid: {grid.width} x {grid.height} = {grid.n_cells / 1e6:.1f} M cells at {args.res:g} m "
        f"(province {province.area / 1e6:,.0f} km2, outline: {outline_src})"
    )

    t0 = time.perf_counter()
    seats = sample_seats(province, area["n_counties"], rng, min_dist_m=area["seat_spacing_m"])
    pref_idx, pref_of = choose_prefectures(seats, area["n_prefectures"], rng)
    is_pref = np.zeros(len(seats), bool)
    is_pref[pref_idx] = True
    cities = [
        City(
            float(x),
            float(y),
            float(rng.uniform(5_500, 8_000) if p else rng.uniform(1_700, 3_000)),
        )
        for (x, y), p in zip(seats, is_pref, strict=True)
    ]
    xmin, ymin, xmax, ymax = province.bounds
    # NNE axis: half extents across/along measured on the province itself
    if args.area == "china":
        from _synth_china import ChinaTerrain

        terrain = ChinaTerrain(args.seed, cities=cities)
    else:
        terrain = Terrain(
            args.seed,
            (float(province.centroid.x), float(province.centroid.y)),
            half_width_m=150_000.0,
            half_length_m=(ymax - ymin) / 2,
            cities=cities,
        )
    highways = build_highways(province, seats, pref_idx, rng, area["highway_km"])
    protected = build_protected(
        province,
        terrain,
        rng,
        area["n_protected"],
        PROTECTED_SHARE,
        step_m=area["protected_lattice_m"],
    )
    files, vstats = write_vectors(
        out, province, seats, pref_idx, pref_of, highways, protected, area
    )
    timings["vectors_s"] = time.perf_counter() - t0
    _log(
        f"vectors: {vstats['n_counties']} counties, {vstats['n_protected_areas']} protected areas "
        f"({100 * vstats['protected_share_of_province']:.1f} % of the province), "
        f"{vstats['highway_km_inside_province']:,.0f} km of highway inside "
        f"[{timings['vectors_s']:.1f} s]"
    )

    t0 = time.perf_counter()
    lc_counts = write_rasters(
        out,
        grid,
        terrain,
        workers=args.workers,
        compress=args.compress,
        block=args.block,
        names=names,
    )
    timings["rasters_s"] = time.perf_counter() - t0
    for name in names:
        files[name] = out / f"{name}.tif"
    total = lc_counts.sum()
    lc_share = {
        name: float(lc_counts[code] / total) for name, code in IGBP.items() if lc_counts[code]
    }
    _log(f"rasters written [{timings['rasters_s']:.1f} s]")

    sizes = {}
    for name, path in sorted(files.items()):
        sizes[name] = os.path.getsize(path)
        _log(f"  {Path(path).name:24s} {sizes[name] / 2**20:10.1f} MB")
    timings["total_s"] = time.perf_counter() - t_start
    manifest = {
        "generator": "sxplan benchmarks/generate.py",
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        **({"area": args.area} if args.area != "shanxi" else {}),
        "res_m": args.res,
        "outline": outline_src,
        "grid": {
            "crs": ALBERS_CHINA,
            "transform": list(grid.transform)[:6],
            "shape": list(grid.shape),
            "margin_m": MARGIN_M,
        },
        "rasters": {
            name: {
                "path": f"{name}.tif",
                "dtype": dt,
                "nodata": nd,
                "units": units,
                "compress": args.compress,
                "block": args.block,
            }
            for name, (dt, nd, units, _) in RASTERS.items()
            if name in names
        },
        "vectors": {
            name: f"{name}.gpkg" for name in ("province", "protected_areas", "highways", "counties")
        },
        "landcover_share_of_grid": lc_share,
        "stats": vstats,
        "sizes_bytes": sizes,
        "sha256": {name: file_sha256(p) for name, p in sorted(files.items())},
        "timings_s": timings,
        "cells": grid.n_cells,
    }
    with atomic_path(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    urban = 100 * lc_share.get("urban", 0.0)
    _log(
        f"done in {timings['total_s']:.1f} s: {grid.n_cells / 1e6:.1f} M cells, "
        f"urban {urban:.1f} % of the grid; manifest {manifest_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
