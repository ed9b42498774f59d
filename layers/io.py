"""Reading and atomically writing layers on the analysis grid.

Everything sxplan writes goes to a temporary name in the destination folder and is renamed into
place only when complete, so a failed run never leaves a half-written file, and an existing file
is replaced in one step. Rasters are tiled, DEFLATE-compressed GeoTIFFs; outputs meant for users
are converted to Cloud-Optimized GeoTIFF (COG) when GDAL's COG driver is available.

Inputs: arrays or tiles on a :class:`~sxplan.layers.grid.GridSpec`, GeoDataFrames, DataFrames.
Outputs: :class:`AlignedLayer` handles to GeoTIFFs on the grid; GeoPackages; CSV (UTF-8 + BOM).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
from rasterio.windows import Window

from sxplan.errors import ConfigError, GridMismatchError, LayerIOError

from .atomic import _remove_quietly, atomic_path, disk_full_error, file_sha256, write_text
from .cog import _to_cog
from .grid import GridSpec
from .heap import trim_free_heap

__all__ = [
    "AlignedLayer",
    "RasterTileWriter",
    "atomic_path",
    "file_sha256",
    "grid_of_raster",
    "open_raster",
    "write_csv",
    "write_gpkg",
    "write_gpkg_blocks",
    "write_gpkg_layers",
    "write_raster",
    "write_text",
]

Kind = Literal["categorical", "continuous"]

#: Largest memory (MB) for the tiles of a land-cover scheme check (``AlignedLayer.with_scheme``).
SCHEME_CHECK_MB = 128

_GTIFF_OPTIONS = {
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "DEFLATE",
    "BIGTIFF": "IF_SAFER",
}


def open_raster(path: str | os.PathLike, what: str = "raster"):
    """Open a raster with rasterio, turning every failure into a clear :class:`LayerIOError`.

    Parameters
    ----------
    path : str or os.PathLike
        File to open.
    what : str
        The layer's name, for messages.

    Returns
    -------
    rasterio.io.DatasetReader
        An open dataset; close it (or use it as a context manager).
    """
    p = Path(path)
    if not p.exists():
        raise LayerIOError(
            f"layer '{what}': file {p} does not exist; check `path:` in the layer spec "
            "(relative paths are taken from the config file's folder)"
        )
    if p.is_dir():
        raise LayerIOError(f"layer '{what}': {p} is a folder, expected a raster file")
    try:
        return rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise LayerIOError(
            f"layer '{what}': {p} is not a raster GDAL can read ({exc}); "
            "convert it to GeoTIFF or check the file is complete"
        ) from exc


def grid_of_raster(src) -> GridSpec:
    """Return the :class:`GridSpec` of an open raster dataset on a projected metric grid."""
    if src.crs is None:
        raise GridMismatchError(f"{src.name} has no CRS, so it is not on an analysis grid")
    return GridSpec(src.crs.to_wkt(), src.transform, (src.height, src.width))


@dataclass(frozen=True)
class AlignedLayer:
    """A single-band raster on the run's analysis grid.

    Attributes
    ----------
    name : str
        Layer name used in configs (``dem``, ``landcover``, ``slope_deg`` ...).
    path : pathlib.Path
        The GeoTIFF on disk.
    grid : GridSpec
        The grid it is on.
    kind : {"categorical", "continuous"}
        How it was (and may be) resampled.
    units : str
        Units of the values (``m``, ``degree``, ``kWh/m2/yr``, ``class``...).
    nodata : float or int or None
        The value marking cells without data.
    dtype : str
        NumPy dtype name of the band.
    scheme : str or None
        Land-cover class scheme of a categorical layer (``igbp``, ``worldcover`` ...), taken
        from the layer's spec (``layers.<name>.scheme``); its codes were checked against it.
        Stages read it with :func:`sxplan.layers.landcover.scheme_of`.
    """

    name: str
    path: Path
    grid: GridSpec
    kind: Kind
    units: str
    nodata: float | int | None
    dtype: str
    scheme: str | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        name: str,
        kind: Kind,
        units: str,
        grid: GridSpec | None,
        *,
        scheme: str | None = None,
        mem_limit_mb: float | None = None,
    ) -> AlignedLayer:
        """Wrap an existing GeoTIFF, checking it is on ``grid`` when one is given.

        Parameters
        ----------
        path : str or os.PathLike
            The raster.
        name, kind, units : str
            See the class attributes.
        grid : GridSpec or None
            The run's grid; a raster on another grid raises :class:`GridMismatchError`.
        scheme : str, optional
            Land-cover scheme of a categorical raster; its codes are checked tile by tile
            (:class:`~sxplan.errors.UnknownCodeError` for codes the scheme does not know).
        mem_limit_mb : float, optional
            Memory budget for that check (default the package default).

        Returns
        -------
        AlignedLayer
        """
        with open_raster(path, name) as src:
            own = grid_of_raster(src)
            if grid is not None:
                grid.require_same(own, f"layer '{name}' ({path})")
            layer = cls(name, Path(path), grid or own, kind, units, src.nodata, src.dtypes[0])
        if scheme is not None:
            layer = layer.with_scheme(scheme, mem_limit_mb=mem_limit_mb)
        return layer

    def with_scheme(
        self, scheme: str, *, mem_limit_mb: float | None = None, source=None
    ) -> AlignedLayer:
        """Return the layer carrying ``scheme``, after checking its codes against it tile by tile.

        Parameters
        ----------
        scheme : str
            A key of :data:`sxplan.layers.landcover.SCHEMES`.
        mem_limit_mb : float, optional
            Memory budget for the tiles read (default the package default), at most
            :data:`SCHEME_CHECK_MB`.
        source : str or os.PathLike, optional
            File named in messages (default this layer's path).

        Returns
        -------
        AlignedLayer

        Raises
        ------
        UnknownCodeError
            Codes present that ``scheme`` does not define.
        """
        from .budget import Budget
        from .landcover import CodeTally, require_scheme_codes
        from .windows import plan_tiles

        if self.kind != "categorical":
            raise ConfigError(
                f"layer '{self.name}' ({self.path}) is {self.kind}; only categorical layers "
                "carry a class scheme"
            )
        tally = CodeTally()
        # a tally gains nothing from large tiles: at most SCHEME_CHECK_MB of them, however
        # large the budget (a 30 m province under 512 MB was read in 30 M-cell tiles, +350 MB
        # resident, and 40 % slower than in 128 MB ones)
        budget = Budget(min(Budget.of(mem_limit_mb).mem_limit_mb, SCHEME_CHECK_MB))
        for tile in plan_tiles(self.grid, budget=budget, bytes_per_cell=16):
            tally.add(*self.read_valid(tile.window))
        require_scheme_codes(tally.codes(), scheme, layer=self.name, path=source or self.path)
        return dataclasses.replace(self, scheme=scheme)

    def read(self, window: Window | None = None, *, masked: bool = True):
        """Read the band (or a window of it).

        Parameters
        ----------
        window : rasterio.windows.Window, optional
            Grid window to read; default the whole grid (only sensible for small grids).
        masked : bool
            Return a masked array with nodata cells masked (default), else the raw array.

        Returns
        -------
        numpy.ma.MaskedArray or numpy.ndarray
        """
        from .open_datasets import read_band_window

        data = read_band_window(self.path, window)
        if not masked:
            return data
        return np.ma.MaskedArray(data, mask=~self.valid_mask(data))

    def read_valid(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Read values and a boolean array that is True where the cell holds data.

        Returns
        -------
        tuple of numpy.ndarray
            ``(values, valid)``.
        """
        from .open_datasets import read_band_window

        # one dataset per file for a whole pass inside layers.keep_datasets_open (its decoded
        # blocks serve the next tile); else opened and closed here
        data = read_band_window(self.path, window)
        return data, self.valid_mask(data)

    def valid_mask(self, data: np.ndarray) -> np.ndarray:
        """True where ``data`` (read from this layer) is not nodata."""
        is_float = data.dtype.kind == "f"
        nan_nodata = isinstance(self.nodata, float) and np.isnan(self.nodata)
        if is_float and (self.nodata is None or nan_nodata):
            return np.isfinite(data)  # finite implies not NaN: one pass instead of two
        if self.nodata is None:
            valid = np.ones(data.shape, dtype=bool)
        elif nan_nodata:
            valid = ~np.isnan(data)
        else:
            valid = data != self.nodata
        if is_float:
            valid &= np.isfinite(data)
        return valid


class RasterTileWriter:
    """Write a single-band raster on a grid tile by tile, atomically.

    Use as a context manager; the file appears at ``path`` only if the block exits cleanly.

    Parameters
    ----------
    path : str or os.PathLike
        Destination GeoTIFF.
    grid : GridSpec
        Grid of the raster.
    dtype : str
        NumPy dtype of the band.
    nodata : float or int or None
        Nodata value written into the file.
    cog : bool
        Convert to Cloud-Optimized GeoTIFF on close (for files users open).
    kind : {"categorical", "continuous"}
        Recorded in a tag; chooses overview resampling for COGs.
    tags : dict, optional
        Extra GeoTIFF metadata (e.g. units, description).
    compress : {"DEFLATE", "ZSTD", "NONE"}, optional
        Compression of the file written tile by tile. Default: DEFLATE; when ``cog``, that
        file is only the tile file the COG is copied from, so floats are written uncompressed
        (compressing twice costs time for nothing; on a short disk see
        :func:`sxplan.layers.cog.float_tile_compress`) and integers ZSTD level 1 (as fast as
        uncompressed here, 18x smaller). A tile file skips blocks that are all nodata
        (GDAL's ``SPARSE_OK``; they read back as nodata) and has no predictor. ``"ZSTD"``
        uses level 1 and ``"NONE"`` suits scratch rasters read once or twice (4-15x faster
        to write than DEFLATE for float32).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from sxplan.layers.grid import GridSpec
    >>> g = GridSpec.from_bounds((0, 0, 4000, 2000), 1000)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ones.tif"
    >>> with RasterTileWriter(p, g, "uint8", 255, cog=False) as w:
    ...     w.write(np.ones((2, 4), "uint8"), g.full_window())
    >>> p.exists()
    True
    """

    def __init__(
        self,
        path: str | os.PathLike,
        grid: GridSpec,
        dtype: str,
        nodata=None,
        *,
        cog: bool = False,
        kind: Kind = "continuous",
        tags: dict | None = None,
        compress: str | None = None,
    ) -> None:
        if compress is None:
            compress = ("NONE" if np.dtype(dtype).kind == "f" else "ZSTD") if cog else "DEFLATE"
        compress = compress.upper()
        if compress not in ("DEFLATE", "ZSTD", "NONE"):
            raise LayerIOError(f"compress must be DEFLATE, ZSTD or NONE, got {compress!r}")
        self.compress = compress
        self.path = Path(path)
        self.grid = grid
        self.dtype = np.dtype(dtype).name
        self.nodata = nodata
        self.cog = cog
        self.kind = kind
        self.tags = dict(tags or {})
        self._ctx = None
        self._dst = None

    def __enter__(self) -> RasterTileWriter:
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._tmp = tmp
        self._work = tmp.with_name(tmp.stem + ".tiles.tif") if self.cog else tmp
        profile = self.grid.profile(self.dtype, self.nodata, **_GTIFF_OPTIONS)
        profile["compress"] = self.compress
        if self.compress == "ZSTD":
            profile["zstd_level"] = 1
        if self.cog:
            # read once by the COG copy: blocks of nodata are skipped (read back as nodata),
            # and no predictor (it costs CPU on both sides of a file kept for seconds)
            profile["sparse_ok"] = True
        elif self.compress != "NONE":
            if self.dtype in ("float32", "float64"):
                profile["predictor"] = 3
            elif self.dtype in ("int16", "uint16", "int32", "uint32"):
                profile["predictor"] = 2
        self._dst = rasterio.open(self._work, "w", **profile)
        self._dst.update_tags(SXPLAN_KIND=self.kind, **{k: str(v) for k, v in self.tags.items()})
        return self

    def write(self, array: np.ndarray, window: Window) -> None:
        """Write ``array`` into ``window`` of the grid (masked cells become nodata)."""
        self.grid.require_array(array, f"tile for {self.path.name}", window)
        if np.ma.isMaskedArray(array):
            if self.nodata is None:
                raise LayerIOError(
                    f"{self.path.name}: a masked array needs a nodata value to be written"
                )
            array = array.filled(self.nodata)
        self._dst.write(np.asarray(array, dtype=self.dtype), 1, window=window)

    def finish_tiles(self) -> Path:
        """Close the tile file once every tile is written; return its path.

        The file can then be read (by another dataset, e.g. while other files are converted)
        before the block exits; writing to it raises. With ``cog`` it is the tile file the
        COG is copied from on exit, which removes it; without, the file that is put at
        ``path`` on exit.
        """
        self._dst.close()
        return self._work

    def __exit__(self, exc_type, exc, tb) -> bool:
        failed = None
        try:
            self._dst.close()  # a no-op after finish_tiles
            if exc_type is None and self.cog:
                _to_cog(self._work, self._tmp)
        except BaseException as err:
            failed = err
        # a full disk is told apart before the tile file goes (its removal frees the space)
        full = disk_full_error(failed or exc, self.path.parent)
        if self.cog or failed is not None:
            _remove_quietly(self._work)
        if full is not None:
            self._ctx.__exit__(OSError, full, None)  # removes the temporary
            raise full from failed or exc
        if failed is not None:
            self._ctx.__exit__(type(failed), failed, failed.__traceback__)
            raise failed
        return bool(self._ctx.__exit__(exc_type, exc, tb))

    def layer(self, name: str, units: str, scheme: str | None = None) -> AlignedLayer:
        """The :class:`AlignedLayer` for the finished file (``scheme`` is not re-checked)."""
        return AlignedLayer(
            name, self.path, self.grid, self.kind, units, self.nodata, self.dtype, scheme
        )


def write_raster(
    path: str | os.PathLike,
    array: np.ndarray,
    grid: GridSpec,
    *,
    nodata=None,
    name: str | None = None,
    units: str = "",
    kind: Kind = "continuous",
    cog: bool = True,
    tags: dict | None = None,
    scheme: str | None = None,
) -> AlignedLayer:
    """Write a whole-grid array atomically and return it as an :class:`AlignedLayer`.

    For small rasters (summaries, the 1 km demo); large ones are written with
    :class:`RasterTileWriter` tile by tile.

    Parameters
    ----------
    path : str or os.PathLike
        Destination GeoTIFF.
    array : numpy.ndarray or numpy.ma.MaskedArray
        Values of shape ``grid.shape``.
    grid : GridSpec
        The grid.
    nodata : float or int, optional
        Nodata value; masked cells are filled with it.
    name, units, kind : str
        Layer metadata for the returned handle.
    cog : bool
        Write a Cloud-Optimized GeoTIFF (default).
    tags : dict, optional
        Extra GeoTIFF metadata.
    scheme : str, optional
        Land-cover scheme of a categorical array; codes it does not define (other than
        ``nodata``) raise :class:`~sxplan.errors.UnknownCodeError` before anything is written.

    Returns
    -------
    AlignedLayer
    """
    grid.require_array(array, f"array for {Path(path).name}")
    layer_name = name or Path(path).stem
    if scheme is not None:
        from .landcover import CodeTally, require_scheme_codes

        if kind != "categorical":
            raise ConfigError(
                f"layer '{layer_name}': a class scheme needs kind='categorical', got {kind!r}"
            )
        tally = CodeTally()
        data = np.ma.getdata(array)
        holder = AlignedLayer(layer_name, Path(path), grid, kind, units, nodata, data.dtype.name)
        valid = holder.valid_mask(data) & ~np.ma.getmaskarray(array)
        tally.add(data, valid)
        require_scheme_codes(tally.codes(), scheme, layer=layer_name, path=path)
    with RasterTileWriter(
        path, grid, array.dtype.name, nodata, cog=cog, kind=kind, tags=tags
    ) as writer:
        writer.write(array, grid.full_window())
    return writer.layer(layer_name, units, scheme)


def write_csv(df, path: str | os.PathLike, *, index: bool = False, float_format=None) -> Path:
    """Write a DataFrame as CSV in UTF-8 with BOM (Excel shows Chinese names), atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or os.PathLike
        Destination.
    index : bool
        Write the index as a column.
    float_format : str, optional
        Passed to :meth:`pandas.DataFrame.to_csv`.

    Returns
    -------
    pathlib.Path
    """
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index, encoding="utf-8-sig", float_format=float_format)
    return Path(path)


def write_gpkg(gdf, path: str | os.PathLike, layer: str) -> Path:
    """Write a GeoDataFrame as a one-layer GeoPackage, atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features with a CRS.
    path : str or os.PathLike
        Destination ``.gpkg``; an existing file is replaced whole.
    layer : str
        Layer name inside the GeoPackage.

    Returns
    -------
    pathlib.Path
    """
    return write_gpkg_layers({layer: gdf}, path)


def write_gpkg_blocks(blocks, path: str | os.PathLike, layer: str) -> Path:
    """Write a one-layer GeoPackage from GeoDataFrames given one after another, atomically.

    For tables too large to hold with their geometries at once: each block is appended to
    the layer the first one created (same columns and types), so only one block is in memory.

    Parameters
    ----------
    blocks : iterable of geopandas.GeoDataFrame
        Row blocks of one table, each with the same columns and CRS; at least one (it may
        have no rows).
    path : str or os.PathLike
        Destination ``.gpkg``; an existing file is replaced whole.
    layer : str
        Layer name inside the GeoPackage.

    Returns
    -------
    pathlib.Path
    """
    from ._gpkg_date import fixed_gpkg_date

    with atomic_path(Path(path)) as tmp, fixed_gpkg_date():
        first = True
        for gdf in blocks:
            _require_crs(gdf, path, layer)
            if first or len(gdf):
                mode = "w" if first else "a"
                gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", mode=mode)
            first = False
            del gdf  # the block's geometries are freed; the heap keeps at most its allowance
            trim_free_heap()
        if first:
            raise ValueError(f"{path}: no block to write")
    return Path(path)


def write_gpkg_layers(frames: dict, path: str | os.PathLike) -> Path:
    """Write several GeoDataFrames as layers of one GeoPackage, atomically.

    Parameters
    ----------
    frames : dict of str to geopandas.GeoDataFrame
        Layer name -> features (each with a CRS).
    path : str or os.PathLike
        Destination ``.gpkg``; an existing file is replaced whole.

    Returns
    -------
    pathlib.Path
    """
    for layer, gdf in frames.items():
        _require_crs(gdf, path, layer)
    final = Path(path)
    from ._gpkg_date import fixed_gpkg_date

    with atomic_path(final) as tmp, fixed_gpkg_date():
        for layer, gdf in frames.items():
            gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
    return final


def _require_crs(gdf, path, layer: str) -> None:
    from sxplan.errors import CRSError

    if gdf.crs is None:
        raise CRSError(f"refusing to write {path} layer '{layer}' without a CRS")
