"""Land-cover class schemes mapped to common classes.

Planners bring land cover from different products. Each scheme maps its codes to eight common
classes so siting and sink rules can be written once. Codes a scheme does not know are an error
listing them, never silently dropped.

Schemes:

- ``igbp``: MODIS MCD12Q1/MCD12C1 IGBP (LC_Type1). 0 and 17 are water (C1 and Q1 use different
  codes); 255 is fill.
- ``worldcover``: ESA WorldCover 10 m v100/v200 (2020/2021).
- ``clcd``: China Land Cover Dataset (Yang & Huang 2021, ESSD 13:3907), 30 m annual.
- ``gbt21010``: first-level classes of China's land-use classification GB/T 21010-2017 and the
  Third National Land Survey (三调) working classification (00 wetland ... 12 other land).

A categorical layer declares its scheme once, in its spec (``layers.<name>.scheme``); the
scheme travels with the aligned layer (:attr:`sxplan.layers.io.AlignedLayer.scheme`), codes the
scheme does not know are refused when the layer is aligned, and stages read the scheme with
:func:`scheme_of`.

Inputs: integer code arrays. Outputs: ``uint8`` arrays of common class codes (0 = no data).
"""

from __future__ import annotations

import functools

import numpy as np

from sxplan.errors import ConfigError, UnknownCodeError

__all__ = [
    "COMMON_CLASSES",
    "COMMON_NAMES_ZH",
    "SCHEMES",
    "CodeTally",
    "common_lookup",
    "refuse_section_scheme",
    "require_scheme_codes",
    "scheme_of",
    "to_common",
]

#: Common classes, name -> code. 0 is reserved for "no data".
COMMON_CLASSES: dict[str, int] = {
    "forest": 1,
    "shrub": 2,
    "grass": 3,
    "crop": 4,
    "built": 5,
    "water": 6,
    "wetland": 7,
    "barren": 8,
}

#: Chinese names of the common classes, for tables and maps.
COMMON_NAMES_ZH: dict[str, str] = {
    "forest": "林地",
    "shrub": "灌木",
    "grass": "草地",
    "crop": "耕地",
    "built": "建设用地",
    "water": "水域",
    "wetland": "湿地",
    "barren": "裸地",
}

_F, _S, _G, _C, _B, _W, _WL, _BA = (COMMON_CLASSES[k] for k in COMMON_CLASSES)

#: scheme -> {source code: (common class code, source class name)}
SCHEMES: dict[str, dict[int, tuple[int, str]]] = {
    "igbp": {
        0: (_W, "Water bodies (MCD12C1)"),
        1: (_F, "Evergreen needleleaf forests"),
        2: (_F, "Evergreen broadleaf forests"),
        3: (_F, "Deciduous needleleaf forests"),
        4: (_F, "Deciduous broadleaf forests"),
        5: (_F, "Mixed forests"),
        6: (_S, "Closed shrublands"),
        7: (_S, "Open shrublands"),
        8: (_F, "Woody savannas (tree cover 30-60%)"),
        9: (_G, "Savannas (tree cover 10-30%)"),
        10: (_G, "Grasslands"),
        11: (_WL, "Permanent wetlands"),
        12: (_C, "Croplands"),
        13: (_B, "Urban and built-up lands"),
        14: (_C, "Cropland/natural vegetation mosaics"),
        15: (_BA, "Permanent snow and ice"),
        16: (_BA, "Barren"),
        17: (_W, "Water bodies (MCD12Q1)"),
    },
    "worldcover": {
        10: (_F, "Tree cover"),
        20: (_S, "Shrubland"),
        30: (_G, "Grassland"),
        40: (_C, "Cropland"),
        50: (_B, "Built-up"),
        60: (_BA, "Bare / sparse vegetation"),
        70: (_BA, "Snow and ice"),
        80: (_W, "Permanent water bodies"),
        90: (_WL, "Herbaceous wetland"),
        95: (_WL, "Mangroves"),
        100: (_G, "Moss and lichen"),
    },
    "clcd": {
        1: (_C, "Cropland"),
        2: (_F, "Forest"),
        3: (_S, "Shrub"),
        4: (_G, "Grassland"),
        5: (_W, "Water"),
        6: (_BA, "Snow/Ice"),
        7: (_BA, "Barren"),
        8: (_B, "Impervious"),
        9: (_WL, "Wetland"),
    },
    "gbt21010": {
        0: (_WL, "湿地 Wetland (三调 00)"),
        1: (_C, "耕地 Cropland"),
        2: (_C, "园地/种植园用地 Orchards and plantations"),
        3: (_F, "林地 Forest land (incl. shrub forest 0305)"),
        4: (_G, "草地 Grassland"),
        5: (_B, "商服用地 Commercial"),
        6: (_B, "工矿仓储用地 Industrial, mining, storage"),
        7: (_B, "住宅用地 Residential"),
        8: (_B, "公共管理与公共服务用地 Public administration and services"),
        9: (_B, "特殊用地 Special use"),
        10: (_B, "交通运输用地 Transport"),
        11: (_W, "水域及水利设施用地 Water and water facilities"),
        12: (_BA, "其他土地 Other land (bare, saline, sandy, rock)"),
    },
}


def common_lookup(scheme: str) -> np.ndarray:
    """Return a 65536-entry lookup table from source code to common class (0 = unknown).

    Parameters
    ----------
    scheme : str
        A key of :data:`SCHEMES`.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array indexed by source code.
    """
    if scheme not in SCHEMES:
        raise ConfigError(
            f"land-cover scheme '{scheme}' is not known; use one of {sorted(SCHEMES)}"
        )
    lut = np.zeros(65536, dtype="uint8")
    for code, (common, _name) in SCHEMES[scheme].items():
        lut[code] = common
    return lut


def to_common(codes: np.ndarray, scheme: str, nodata=None, *, what: str = "land cover"):
    """Map source land-cover codes to common class codes.

    Parameters
    ----------
    codes : numpy.ndarray
        Integer codes (any integer dtype).
    scheme : str
        A key of :data:`SCHEMES`.
    nodata : int, optional
        Source nodata value; those cells become 0.
    what : str
        Layer name for error messages.

    Returns
    -------
    numpy.ndarray
        ``uint8`` common class codes, 0 where nodata.

    Raises
    ------
    UnknownCodeError
        Listing every code present that the scheme does not define.

    Examples
    --------
    >>> import numpy as np
    >>> to_common(np.array([[10, 40], [50, 255]]), "worldcover", nodata=255).tolist()
    [[1, 4], [5, 0]]
    """
    codes = np.asarray(codes)
    if codes.dtype in (np.uint8, np.uint16):
        out = _to_common_small(codes, scheme, nodata)
        if out is not None:
            return out
        # an unknown code is present: the general path below names every one of them
    if codes.dtype.kind not in "iu":
        if codes.dtype.kind == "f" and np.all(np.isnan(codes) | (codes == np.round(codes))):
            codes = np.where(np.isnan(codes), -1, codes).astype("int64")
            if nodata is not None and np.isnan(nodata):
                nodata = -1
        else:
            raise UnknownCodeError(
                f"{what}: land-cover codes must be integers, got dtype {codes.dtype}"
            )
    lut = common_lookup(scheme)
    valid = np.ones(codes.shape, dtype=bool) if nodata is None else codes != nodata
    in_range = (codes >= 0) & (codes < lut.size)
    safe = np.where(in_range & valid, codes, 0)
    out = np.where(valid & in_range, lut[safe], 0).astype("uint8")
    unknown_cells = valid & ((~in_range) | (out == 0))
    if unknown_cells.any():
        raise _unknown_codes(np.unique(codes[unknown_cells]), scheme, subject=what)
    return out


def _to_common_small(codes: np.ndarray, scheme: str, nodata) -> np.ndarray | None:
    """:func:`to_common` of uint8/uint16 codes by one table lookup; None if a code is unknown.

    The table maps every possible code: known codes to their class, ``nodata`` to 0 and
    unknown codes to 255 (no class has that code), so one :func:`numpy.take` and one maximum
    give the same result as the general path, without its masks.
    """
    n = 1 << (8 * codes.dtype.itemsize)
    lut = _small_lut(scheme, n, _nodata_index(nodata, n))
    out = np.take(lut, codes)
    if out.size and out.max() == _UNKNOWN:
        return None
    return out


_UNKNOWN = 255  # marks unknown codes in the lookup tables of _small_lut (classes are 0-8)


def _nodata_index(nodata, n: int) -> int:
    """``nodata`` as a table index, or -1 when no code of an ``n``-code dtype equals it."""
    if nodata is None:
        return -1
    value = float(nodata)
    if not value.is_integer() or not 0 <= value < n:  # NaN, fractions, out of range
        return -1
    return int(value)


@functools.lru_cache(maxsize=32)
def _small_lut(scheme: str, n: int, nodata_index: int) -> np.ndarray:
    """Read-only table code -> common class (0 at ``nodata_index``, 255 for unknown codes)."""
    lut = common_lookup(scheme)[:n].copy()
    lut[lut == 0] = _UNKNOWN
    if nodata_index >= 0:
        lut[nodata_index] = 0
    lut.flags.writeable = False
    return lut


#: Cells :meth:`CodeTally.add` counts at a time (an 8 MB int64 copy in bincount).
_TALLY_CHUNK = 1 << 20


class CodeTally:
    """The distinct codes of a categorical raster, gathered tile by tile.

    Unsigned 8/16-bit tiles are counted with :func:`numpy.bincount` (no sort), a million
    cells at a time: bincount converts its input to int64 first, 8 bytes a cell, which on a
    whole 89 M-cell tile of a 30 m land cover was 700 MB (``benchmarks/README.md``, issue 17,
    s24). Other dtypes use :func:`numpy.unique`. Memory: one 65536-entry boolean table, the
    distinct codes of other dtypes, and about 10 MB a call.

    Examples
    --------
    >>> import numpy as np
    >>> t = CodeTally()
    >>> t.add(np.array([[1, 2], [2, 255]], "uint8"), np.array([[True, True], [True, False]]))
    >>> t.add(np.array([[7]], "uint8"), np.array([[True]]))
    >>> t.codes().tolist()
    [1, 2, 7]
    """

    def __init__(self) -> None:
        self._seen = np.zeros(65536, dtype=bool)
        self._other: set = set()

    def add(self, values: np.ndarray, valid: np.ndarray) -> None:
        """Record the codes of ``values`` where ``valid`` is True."""
        values = np.asarray(values)
        valid = np.asarray(valid, dtype=bool)
        if values.dtype in (np.uint8, np.uint16):
            # count every cell, then take the (few) invalid ones off: no copy of the valid
            # cells; a chunk at a time, since bincount makes an int64 copy of what it counts
            n = 1 << (8 * values.dtype.itemsize)
            flat, ok = values.ravel(), valid.ravel()
            for start in range(0, flat.size, _TALLY_CHUNK):
                stop = start + _TALLY_CHUNK
                chunk, chunk_ok = flat[start:stop], ok[start:stop]
                counts = np.bincount(chunk, minlength=n)
                if not chunk_ok.all():
                    counts -= np.bincount(chunk[~chunk_ok], minlength=n)
                self._seen[:n] |= counts > 0
            return
        v = values[valid]
        if v.size:
            self._other.update(np.unique(v).tolist())

    def codes(self) -> np.ndarray:
        """Sorted distinct codes seen (float64 when a non-integer value was seen)."""
        small = np.flatnonzero(self._seen)
        if not self._other:
            return small
        return np.unique(np.concatenate([small, np.asarray(sorted(self._other))]))


def require_scheme_codes(codes, scheme: str, *, layer: str, path=None) -> None:
    """Refuse codes that ``scheme`` does not define, naming the layer, file, scheme and fix.

    Parameters
    ----------
    codes : array-like
        Distinct codes present in the layer (nodata already left out), e.g.
        :meth:`CodeTally.codes`.
    scheme : str
        A key of :data:`SCHEMES`.
    layer : str
        Layer name (the key under ``layers:``).
    path : str or os.PathLike, optional
        The layer's source file, for the message.

    Raises
    ------
    ConfigError
        ``scheme`` is not a known scheme.
    UnknownCodeError
        Listing every code present that the scheme does not define.

    Examples
    --------
    >>> require_scheme_codes([10, 40], "worldcover", layer="landcover")
    >>> require_scheme_codes([10, 41], "worldcover", layer="landcover", path="lc.tif")
    Traceback (most recent call last):
    ...
    sxplan.errors.UnknownCodeError: layer 'landcover' (lc.tif): codes 41 are not in the ...
    """
    if scheme not in SCHEMES:
        raise ConfigError(
            f"layer '{layer}': land-cover scheme '{scheme}' is not known; set `scheme:` in "
            f"`layers.{layer}` to one of {sorted(SCHEMES)}"
        )
    codes = np.asarray(codes).ravel().tolist()
    bad = [c for c in codes if float(c) not in SCHEMES[scheme]]
    if not bad:
        return
    others = [
        s for s in sorted(SCHEMES) if s != scheme and all(float(c) in SCHEMES[s] for c in codes)
    ]
    where = f" ({path})" if path is not None else ""
    raise _unknown_codes(bad, scheme, subject=f"layer '{layer}'{where}", layer=layer, fits=others)


def _unknown_codes(bad, scheme: str, *, subject: str, layer=None, fits=()) -> UnknownCodeError:
    """The one message for codes a scheme does not define (at alignment and per tile)."""
    bad = list(bad)
    shown = ", ".join(_code_str(b) for b in bad[:20])
    more = f" and {len(bad) - 20} more" if len(bad) > 20 else ""
    known = ", ".join(str(c) for c in sorted(SCHEMES[scheme]))
    target = f"`layers.{layer}`" if layer else "the layer's spec"
    fit = f" (codes present fit: {', '.join(fits)})" if fits else ""
    return UnknownCodeError(
        f"{subject}: codes {shown}{more} are not in the '{scheme}' land-cover scheme (known: "
        f"{known}); set `scheme:` in {target} to the scheme the file really uses{fit}, or "
        "declare `nodata:` there if one of these codes marks missing data"
    )


def _code_str(c) -> str:
    return str(int(c)) if float(c).is_integer() else str(c)


def scheme_of(layer, *, needed_by: str) -> str:
    """The land-cover scheme declared on an aligned layer, or a clear error when it has none.

    Parameters
    ----------
    layer : sxplan.layers.io.AlignedLayer
        The land-cover layer (aligned from a spec with ``scheme:``).
    needed_by : str
        Who asks, for the message, e.g. ``"sinks.landcover_layer"``.

    Returns
    -------
    str
        A key of :data:`SCHEMES`.

    Raises
    ------
    ConfigError
        The layer declares no scheme.
    """
    scheme = getattr(layer, "scheme", None)
    if scheme is None:
        raise ConfigError(
            f"{needed_by}: land-cover layer '{layer.name}' ({layer.path}) declares no class "
            f"scheme; add `scheme:` to `layers.{layer.name}` (one of {sorted(SCHEMES)}), "
            "e.g. `scheme: igbp` for MODIS land cover"
        )
    return scheme


def refuse_section_scheme(section: str, data) -> None:
    """Refuse a stage section that still sets ``landcover_scheme`` (it lives on the layer now).

    The class scheme of a land-cover raster is declared once, on its layer
    (``layers.<name>.scheme``). A config written for an older sxplan that sets it in a stage
    section gets this pointer instead of a bare "unknown key". For pydantic ``before``
    validators of stage config models.

    Parameters
    ----------
    section : str
        The section's name in the YAML (``siting``, ``roadside_pv``, ``sinks``).
    data : object
        The raw section before validation.

    Raises
    ------
    ValueError
        When ``data`` has a ``landcover_scheme`` key.

    Examples
    --------
    >>> refuse_section_scheme("sinks", {"landcover_layer": "lc"})
    """
    if isinstance(data, dict) and "landcover_scheme" in data:
        layer = data.get("landcover_layer") or "landcover"
        raise ValueError(
            f"`{section}.landcover_scheme` ({data['landcover_scheme']!r}) is no longer read: the "
            f"land-cover scheme is declared once, on the layer. Move it to "
            f"`layers.{layer}.scheme: {data['landcover_scheme']}` and delete "
            f"`landcover_scheme` from `{section}:`"
        )
