"""The source catalog of ``sxplan data fetch`` (``sources.yaml`` beside this module).

Inputs: ``sources.yaml``; the ``SXPLAN_FETCH_MIRROR`` environment variable or a ``mirror``
argument. Outputs: :class:`Source` records and the URLs of their files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.resources import files

from sxplan.errors import ConfigError

__all__ = [
    "LAYER_NAMES",
    "MIRROR_ENV",
    "Source",
    "load_catalog",
    "mirror_from_env",
    "source_for_layer",
]

MIRROR_ENV = "SXPLAN_FETCH_MIRROR"

#: layer names accepted by ``--layers``, in the order they are fetched
LAYER_NAMES = ("dem", "landcover", "landcover_clcd", "wind", "solar", "roads", "protected")


@dataclass(frozen=True)
class Source:
    """One public source: where its files are, what they hold, and under which terms.

    Attributes
    ----------
    id : str
        Key in ``sources.yaml``; also the folder name under a mirror and in the cache.
    layer : str
        The ``--layers`` name this source answers.
    base_url : str
        Publisher's URL prefix (empty for user-supplied files).
    entry : dict
        The whole catalog entry (title, path, tiles, licence, citation, checked ...).
    """

    id: str
    layer: str
    base_url: str
    entry: dict = field(repr=False)

    def __getitem__(self, key: str):
        return self.entry[key]

    def get(self, key: str, default=None):
        """Return a catalog field, or ``default`` when the entry lacks it."""
        return self.entry.get(key, default)

    @property
    def unverified(self) -> bool:
        """True when the catalog could not confirm part of this entry."""
        return "unverified" in (self.get("checked", "") + self.get("licence", ""))

    def url(self, path: str, mirror: str | None = None) -> str:
        """Return the URL of ``path`` at the publisher, or under ``mirror`` when one is set.

        Examples
        --------
        >>> s = Source("x", "dem", "https://example.org/data", {})
        >>> s.url("a/b.tif"), s.url("a/b.tif", mirror="http://127.0.0.1:8000/m/")
        ('https://example.org/data/a/b.tif', 'http://127.0.0.1:8000/m/x/a/b.tif')
        """
        if mirror:
            return f"{mirror.rstrip('/')}/{self.id}/{path}"
        return f"{self.base_url.rstrip('/')}/{path}"

    def file_name(self, path: str) -> str:
        """Name of the downloaded file: the catalog's ``file_name`` or the last path part."""
        return self.get("file_name") or path.rsplit("/", 1)[-1]


def load_catalog(text: str | None = None) -> dict[str, Source]:
    """Read the source catalog.

    Parameters
    ----------
    text : str, optional
        YAML text to read instead of the packaged ``sources.yaml`` (tests).

    Returns
    -------
    dict of str to Source
        By source id.

    Examples
    --------
    >>> cat = load_catalog()
    >>> sorted({s.layer for s in cat.values()}) == sorted(LAYER_NAMES)
    True
    """
    import yaml

    if text is None:
        text = (files("sxplan.fetch") / "sources.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)["sources"]
    return {k: Source(k, v["layer"], v.get("base_url", ""), v) for k, v in data.items()}


def source_for_layer(catalog: dict[str, Source], layer: str) -> Source:
    """Return the source that yields ``layer``, or raise naming the known layers."""
    for src in catalog.values():
        if src.layer == layer:
            return src
    raise ConfigError(
        f"--layers: unknown layer '{layer}'; use a comma-separated list of {', '.join(LAYER_NAMES)}"
    )


def mirror_from_env(mirror: str | None = None) -> str | None:
    """Return the mirror URL: the argument, else ``$SXPLAN_FETCH_MIRROR``, else None."""
    return mirror or os.environ.get(MIRROR_ENV) or None
