"""Load vector inputs onto the grid's CRS and rasterize them tile by tile.

Loading validates the file (exists, readable, has a CRS or a declared one, overlaps the study
area, has the fields the spec names), applies a declared GCJ-02 datum shift in longitude/latitude
before any reprojection, and returns features in the grid CRS. Rasterizing is windowed: each tile
burns only the features whose bounds meet it (found with a spatial index), so memory is bounded by
the tile, not the province.

Inputs: :class:`~sxplan.layers.specs.VectorLayerSpec` or a path; the run's
:class:`~sxplan.layers.grid.GridSpec`.
Outputs: GeoDataFrames in the grid CRS; :class:`~sxplan.layers.io.AlignedLayer` rasters.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from rasterio import features as rio_features

from sxplan.errors import ConfigError, CRSError, CRSMismatchError, LayerIOError, NoOverlapError

from .budget import DEFAULT_MEM_LIMIT_MB, Budget
from .datum import gdf_gcj02_to_wgs84
from .grid import GridSpec
from .io import AlignedLayer, RasterTileWriter
from .specs import VectorLayerSpec
from .windows import plan_tiles, run_tiles

__all__ = ["burn_tile", "load_vector", "rasterize"]


def load_vector(
    spec: VectorLayerSpec | str | Path, grid: GridSpec | None = None, *, name: str | None = None
) -> gpd.GeoDataFrame:
    """Read, validate and reproject a vector layer.

    Parameters
    ----------
    spec : VectorLayerSpec or str or pathlib.Path
        The layer spec, or just a path (then the file must carry a CRS).
    grid : GridSpec, optional
        When given, features are returned in the grid CRS and must overlap the grid.
    name : str, optional
        Layer name for messages (default: the file stem).

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame (the file is never modified), empty geometries dropped.

    Raises
    ------
    LayerIOError, CRSError, CRSMismatchError, NoOverlapError, ConfigError
        Each naming the file and the fix.
    """
    if not isinstance(spec, VectorLayerSpec):
        spec = VectorLayerSpec(path=Path(spec))
    path = Path(spec.path)
    name = name or path.stem
    if not path.exists():
        raise LayerIOError(
            f"layer '{name}': file {path} does not exist; check `path:` in the layer spec "
            "(relative paths are taken from the config file's folder)"
        )
    try:
        kwargs = {"encoding": spec.encoding} if spec.encoding else {}
        if spec.layer:
            kwargs["layer"] = spec.layer
        gdf = gpd.read_file(path, **kwargs)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        hint = f" (layer '{spec.layer}' not found?)" if spec.layer else ""
        raise LayerIOError(
            f"layer '{name}': cannot read {path}{hint}: {exc}; check the file is a vector format "
            "GDAL reads (GeoPackage, Shapefile with its .shx/.dbf/.prj, GeoJSON)"
        ) from exc
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].copy()
    if gdf.empty:
        raise NoOverlapError(f"layer '{name}': {path} has no features with geometry")
    gdf = _resolve_crs(gdf, spec, name, path)
    if spec.where:
        for field, values in spec.where.items():
            if field not in gdf.columns:
                raise ConfigError(
                    f"layer '{name}': `where:` names field '{field}', but {path} has fields "
                    f"{sorted(c for c in gdf.columns if c != 'geometry')}"
                )
            gdf = gdf[gdf[field].isin(values)]
        if gdf.empty:
            raise NoOverlapError(
                f"layer '{name}': no feature of {path} matches `where: {spec.where}`"
            )
    if spec.burn_field and spec.burn_field not in gdf.columns:
        raise ConfigError(
            f"layer '{name}': `burn_field: {spec.burn_field}` is not a field of {path}; fields "
            f"are {sorted(c for c in gdf.columns if c != 'geometry')}"
        )
    if spec.datum == "gcj02":
        gdf = gdf_gcj02_to_wgs84(gdf)
    if grid is not None:
        gdf = gdf.to_crs(grid.pyproj_crs)
        xmin, ymin, xmax, ymax = grid.bounds
        if not gdf.intersects(shapely.box(xmin, ymin, xmax, ymax)).any():
            b = tuple(round(v) for v in gdf.total_bounds)
            raise NoOverlapError(
                f"layer '{name}' ({path}) spans {b} in the grid CRS, which does not overlap the "
                f"study area {tuple(round(v) for v in grid.bounds)}; check its CRS and datum"
            )
    return gdf.reset_index(drop=True)


def _resolve_crs(gdf, spec: VectorLayerSpec, name: str, path: Path):
    if gdf.crs is None:
        if spec.crs is None:
            raise CRSError(
                f"layer '{name}' ({path}) has no CRS; set `crs:` in its spec, "
                "e.g. `crs: EPSG:4326` (or EPSG:4490 for CGCS2000)"
            )
        return gdf.set_crs(spec.crs)
    if spec.crs is not None and CRS.from_user_input(spec.crs) != gdf.crs:
        raise CRSMismatchError(
            f"layer '{name}' ({path}) is in {gdf.crs.to_string()} but its spec says "
            f"crs: {spec.crs}; remove `crs:` (it is only for files without one) or fix the file"
        )
    return gdf


def burn_tile(
    geoms: np.ndarray,
    values: np.ndarray | None,
    grid: GridSpec,
    window,
    *,
    all_touched: bool,
    dtype: str = "uint8",
    fill=0,
    tree: shapely.STRtree | None = None,
) -> np.ndarray:
    """Rasterize the geometries meeting one grid window.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely.Geometry
        Features in the grid CRS.
    values : numpy.ndarray, optional
        Value burned for each geometry (default 1). Where features overlap, the later one wins.
    grid : GridSpec
        The grid.
    window : rasterio.windows.Window
        The window to fill.
    all_touched : bool
        Burn every touched cell (True) or cells whose centre is inside (False).
    dtype : str
        Output dtype.
    fill : int or float
        Value of cells no feature covers.
    tree : shapely.STRtree, optional
        A prebuilt index over ``geoms`` (build once, reuse for every tile).

    Returns
    -------
    numpy.ndarray
        Array of the window's shape.
    """
    shape = (int(window.height), int(window.width))
    out = np.full(shape, fill, dtype=dtype)
    transform = grid.window_transform(window)
    x0, y1 = transform.c, transform.f
    box = shapely.box(x0, y1 - shape[0] * grid.res, x0 + shape[1] * grid.res, y1)
    idx = (tree or shapely.STRtree(geoms)).query(box)
    if idx.size == 0:
        return out
    idx.sort()  # keep input order so "later wins" is deterministic
    vals = np.ones(idx.size, dtype=dtype) if values is None else np.asarray(values)[idx]
    rio_features.rasterize(
        zip(geoms[idx], vals.tolist(), strict=True),
        out_shape=shape,
        transform=transform,
        fill=fill,
        out=out,
        all_touched=all_touched,
        dtype=dtype,
    )
    return out


def rasterize(
    gdf: gpd.GeoDataFrame,
    grid: GridSpec,
    out_path: str | Path,
    *,
    all_touched: bool,
    burn: int | float | str = 1,
    dtype: str = "uint8",
    fill: int | float = 0,
    nodata=None,
    name: str | None = None,
    units: str = "",
    kind: str = "categorical",
    mem_limit_mb: float = DEFAULT_MEM_LIMIT_MB,
    cog: bool = False,
) -> AlignedLayer:
    """Rasterize features onto the grid, tile by tile, and write a GeoTIFF.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features; reprojected to the grid CRS if needed.
    grid : GridSpec
        The run's grid.
    out_path : str or pathlib.Path
        Destination GeoTIFF (atomic).
    all_touched : bool
        Required, no default: True burns every cell a feature touches (use for lines),
        False only cells whose centre falls inside a polygon.
    burn : int, float or str
        A constant, or the name of an attribute whose values are burned.
    dtype : str
        Output dtype.
    fill : int or float
        Value where no feature is.
    nodata : int or float, optional
        Nodata recorded in the file (default none: ``fill`` is a real value, "no feature").
    name, units, kind : str
        Layer metadata.
    mem_limit_mb : float
        Memory budget.
    cog : bool
        Write a Cloud-Optimized GeoTIFF.

    Returns
    -------
    AlignedLayer
    """
    if gdf.crs is None:
        raise CRSError(f"cannot rasterize '{name or out_path}': features have no CRS")
    if CRS.from_user_input(gdf.crs) != grid.pyproj_crs:
        gdf = gdf.to_crs(grid.pyproj_crs)
    geoms = np.asarray(gdf.geometry.values)
    if isinstance(burn, str):
        if burn not in gdf.columns:
            raise ConfigError(
                f"cannot burn field '{burn}' for '{name or out_path}': fields are "
                f"{sorted(c for c in gdf.columns if c != 'geometry')}"
            )
        values = gdf[burn].to_numpy()
    else:
        values = np.full(len(gdf), burn)
    tree = shapely.STRtree(geoms)
    # the burnt tile, the copy rasterio stacks to write it, and the tile waiting to be written
    # while the next is burnt: 4 x the dtype leaves a margin (1 B/cell for uint8 burnt a 30 m
    # province, 280 M cells, as one tile: +320 MB, benchmarks/README.md, issue 17, s24)
    tiles = plan_tiles(
        grid,
        mem_limit_mb=mem_limit_mb,
        bytes_per_cell=4 * np.dtype(dtype).itemsize,
        n_workers=Budget.workers(),
    )
    with RasterTileWriter(out_path, grid, dtype, nodata, cog=cog, kind=kind) as writer:
        run_tiles(
            tiles,
            lambda t: burn_tile(
                geoms,
                values,
                grid,
                t.window,
                all_touched=all_touched,
                dtype=dtype,
                fill=fill,
                tree=tree,
            ),
            lambda t, arr: writer.write(arr, t.window),
        )
    return writer.layer(name or Path(out_path).stem, units)
