"""One fetch function per kind of source: tiles, single file, zip of rasters, OSM, user file.

Each returns a :class:`~sxplan.fetch.outputs.LayerResult`; a file that cannot be had is
recorded in ``failed`` (with its URL and the name to give a hand-downloaded copy) and the
others are still fetched, so the cache keeps everything that could be had.

Inputs: a catalog :class:`~sxplan.fetch.catalog.Source` and a :class:`FetchContext`.
Outputs: files in the destination folder and the cache.
"""

from __future__ import annotations

import fnmatch
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sxplan.errors import LayerIOError, SxplanError

from .download import DownloadPolicy, NotFoundError, UnreachableError, download, file_md5
from .outputs import LayerResult
from .tiles import covering_tiles, tile_name

__all__ = ["FETCHERS", "FetchContext"]


@dataclass
class FetchContext:
    """What every fetcher needs: area, folders, mirror, download policy and a logger."""

    area: object
    dest: Path
    cache: Path
    from_dir: Path | None
    mirror: str | None
    policy: DownloadPolicy
    log: object
    unreachable: set = field(default_factory=set)  # hosts that did not answer in this run


def _obtain(src, path: str, ctx: FetchContext, res: LayerResult, md5: bool = False):
    """Return a local copy of one file of ``src``: from --from-dir, the cache, or the web."""
    url = src.url(path, ctx.mirror)
    name = src.file_name(path)
    res.wanted.append((url, name))
    if ctx.from_dir is not None and (ctx.from_dir / name).is_file():
        local = ctx.from_dir / name
        side = ctx.from_dir / (name + ".md5")
        if md5 and side.is_file():
            expected = side.read_text().split()[0].lower()
            if file_md5(local) != expected:
                res.failed.append((url, name, f"{local} does not match {side.name}"))
                return None
        elif md5:
            res.notes.append(f"{name} from --from-dir: MD5 not checked (no {name}.md5 beside it)")
        ctx.log(f"  {name}: from {ctx.from_dir}")
        res.notes.append(f"{name}: hand-downloaded copy from {local} (--from-dir)")
        return local
    target = ctx.cache / src.id / name
    if target.exists():
        ctx.log(f"  {name}: in the cache")
        return target
    publisher = src.url(path)
    host = urlsplit(url).netloc
    if host in ctx.unreachable:
        res.failed.append((publisher, name, f"not tried: {host} did not answer earlier"))
        return None
    ctx.log(f"  {name}: downloading {url}")
    try:
        return download(
            url, target, policy=ctx.policy, md5_url=url + ".md5" if md5 else None, log=ctx.log
        )
    except NotFoundError as exc:
        if src.get("missing_tiles") == "sea":
            note = (
                f"{name}: absent at the source (404); the publisher's readme says absent "
                "tiles are sea, so its cells are left nodata (not 0): check it is sea"
            )
            res.notes.append(note)
            ctx.log(f"  WARNING: {note}")
            return None
        res.failed.append((publisher, name, str(exc)))
    except UnreachableError as exc:
        ctx.unreachable.add(host)
        res.failed.append((publisher, name, str(exc)))
    except LayerIOError as exc:
        res.failed.append((publisher, name, str(exc)))
    return None


def _finish_raster(src, paths, ctx, res, role, out_name, units, **kw) -> None:
    from .rasters import clip_to_cog

    if res.failed or not paths:
        if not paths and not res.failed:
            res.failed.append((src.base_url, "-", "no tile of this source covers the area"))
        return
    out = ctx.dest / out_name
    try:
        clip_to_cog(paths, ctx.area.bounds, out, kind=src.get("kind", "continuous"), units=units,
                    description=src["title"], **kw)  # fmt: skip
    except SxplanError as exc:
        res.failed.append((src.base_url, "-", str(exc)))
        return
    res.outputs[role] = out


def fetch_tiles(src, ctx: FetchContext) -> LayerResult:
    """A tiled source (Copernicus DEM, WorldCover): every tile over the area's box."""
    res = LayerResult(src.layer, src)
    tiles = src["tiles"]
    paths = []
    for lat, lon in covering_tiles(ctx.area.bounds, int(tiles["size_deg"])):
        name = tile_name(tiles["name"], lat, lon)
        got = _obtain(src, src["path"].format(name=name), ctx, res)
        if got is not None:
            paths.append(got)
    _finish_raster(src, paths, ctx, res, src.layer, f"{src.layer}.tif", src.get("units", ""),
                   nodata=src.get("nodata"))  # fmt: skip
    return res


def fetch_single(src, ctx: FetchContext) -> LayerResult:
    """One raster file for a whole country (Global Wind Atlas, CLCD)."""
    res = LayerResult(src.layer, src)
    got = _obtain(src, src["path"], ctx, res)
    _finish_raster(src, [got] if got else [], ctx, res, src.layer, f"{src.layer}.tif",
                   src.get("units", ""), nodata=src.get("nodata"))  # fmt: skip
    return res


def fetch_zip(src, ctx: FetchContext) -> LayerResult:
    """A zip of rasters (Global Solar Atlas): each member named in ``members`` is clipped."""
    res = LayerResult(src.layer, src)
    got = _obtain(src, src["path"], ctx, res)
    if got is None:
        return res
    outdir = ctx.cache / src.id / (got.name + ".d")
    try:
        with zipfile.ZipFile(got) as zf:
            names = zf.namelist()
            for role, member in src["members"].items():
                hits = [n for n in names if re.search(member["pattern"], n)]
                if len(hits) != 1:
                    raise LayerIOError(
                        f"{got}: expected one member matching {member['pattern']!r}, found "
                        f"{hits or 'none'}; members: {names[:20]}"
                    )
                local = outdir / Path(hits[0]).name
                if not local.exists():
                    outdir.mkdir(parents=True, exist_ok=True)
                    tmp = local.with_name(local.name + ".part")
                    tmp.write_bytes(zf.read(hits[0]))
                    tmp.replace(local)
                _finish_raster(src, [local], ctx, res, role, f"{role}.tif", member["units"])
    except (zipfile.BadZipFile, LayerIOError) as exc:
        res.failed.append((src.url(src["path"], ctx.mirror), src.file_name(src["path"]), str(exc)))
        res.outputs.clear()
    return res


def fetch_osm(src, ctx: FetchContext) -> LayerResult:
    """An OSM PBF extract with an MD5 sidecar: motorways and trunks to ``roads.gpkg``."""
    from sxplan.layers.io import write_gpkg

    from .osm import extract_roads

    res = LayerResult(src.layer, src)
    got = _obtain(src, src["path"], ctx, res, md5=src.get("checksum") == "md5_sidecar")
    if got is None:
        return res
    try:
        roads = extract_roads(got, ctx.area.bounds, list(src["keep_highway"]))
    except SxplanError as exc:
        res.failed.append((src.url(src["path"], ctx.mirror), got.name, str(exc)))
        return res
    res.outputs["highways"] = write_gpkg(roads, ctx.dest / "roads.gpkg", "roads")
    res.notes.append(
        f"{len(roads)} road pieces: "
        + ", ".join(f"{k} {v}" for k, v in roads["highway"].value_counts().items())
        + f"; {int((roads['tunnel'] != '').sum())} tagged tunnel, "
        f"{int((roads['bridge'] != '').sum())} tagged bridge"
    )
    return res


def fetch_user_file(src, ctx: FetchContext) -> LayerResult:
    """A file the user downloaded (WDPA): first match of ``user_file`` patterns in --from-dir."""
    import geopandas as gpd

    from sxplan.layers.io import write_gpkg

    res = LayerResult(src.layer, src)
    patterns = src["user_file"]
    found = []
    if ctx.from_dir is not None:
        found = sorted(
            p for p in ctx.from_dir.iterdir() if any(fnmatch.fnmatch(p.name, g) for g in patterns)
        )
    if not found:
        res.failed.append(
            (
                "https://www.protectedplanet.net (download by hand)",
                " or ".join(patterns),
                "sxplan does not download this source; supply the file",
            )  # fmt: skip
        )
        return res
    gdf = gpd.read_file(found[0], bbox=ctx.area.bounds)
    if gdf.crs is None:
        res.failed.append((str(found[0]), found[0].name, "the file has no CRS"))
        return res
    gdf = gdf.to_crs("EPSG:4326")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    gdf = gpd.clip(gdf, ctx.area.bounds)
    gdf = gdf[~gdf.geometry.is_empty]
    res.notes.append(f"{found[0].name}: {len(gdf)} polygons in the box (points left out)")
    if gdf.empty:
        res.notes.append("no protected-area polygon in the box: the rule is left out")
        res.outputs["protected"] = None
        return res
    res.outputs["protected"] = write_gpkg(gdf.reset_index(drop=True), ctx.dest / "protected.gpkg",
                                          "protected")  # fmt: skip
    return res


#: catalog entry shape -> fetch function
FETCHERS = {
    "tiles": fetch_tiles,
    "members": fetch_zip,
    "keep_highway": fetch_osm,
    "user_file": fetch_user_file,
}


def fetcher_for(src):
    """The fetch function for a catalog entry (by the key that marks its shape)."""
    for key, fn in FETCHERS.items():
        if src.get(key) is not None:
            return fn
    return fetch_single
