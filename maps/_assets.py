"""Leaflet, inlined from the installed ``xstatic-leaflet`` package, and the offline check.

No third-party code lives in this repository: Leaflet's JS and CSS are read from the installed
package when a map is written, and the few images its CSS refers to become ``data:`` URIs, so a
map opens from ``file://`` with no network at all.

Inputs: the installed ``xstatic.pkg.leaflet`` data folder. Outputs: an HTML ``<style>`` +
``<script>`` block; a list of external URLs found in a written HTML page.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

from sxplan.errors import LayerIOError

__all__ = ["external_urls", "leaflet_head_html", "leaflet_version"]

_CSS_URL = re.compile(r"url\((['\"]?)(images/[^)'\"]+)\1\)")
# What makes a browser fetch something: src/href of script, link, img and the like, CSS url(),
# and tile-layer URL templates written as JS strings. Plain <a href> links fetch nothing.
_FETCH_PATTERNS = (
    re.compile(
        r"""<(?:script|link|img|iframe|source|embed|video|audio|object)\b[^>]*?"""
        r"""\b(?:src|href|data)\s*=\s*["']?(?:https?:)?//[^"'\s>]+""",
        re.I,
    ),
    re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]+\)""", re.I),
    re.compile(r"""["'](?:https?:)?//[^"']*\{z\}[^"']*["']""", re.I),
    re.compile(r"""\b(?:L\.tileLayer|tileLayer)\s*\(\s*["'](?:https?:)?//""", re.I),
)


def _data_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - declared runtime dependency
        raise LayerIOError(
            "offline maps need the 'xstatic-leaflet' package (Leaflet JS/CSS); install it with "
            "'pip install xstatic-leaflet' (it is a declared dependency of sxplan)"
        ) from exc
    return Path(xleaflet.BASE_DIR)


def leaflet_version() -> str:
    """Return the version of the installed Leaflet package.

    Returns
    -------
    str
        For example ``"1.9.3"``.
    """
    import xstatic.pkg.leaflet as xleaflet

    return str(xleaflet.VERSION)


@functools.lru_cache(maxsize=1)
def leaflet_head_html() -> str:
    """Return Leaflet's CSS and JS inlined as ``<style>`` and ``<script>`` elements.

    Returns
    -------
    str
        HTML for the page head. Images referenced by the CSS are ``data:`` URIs.

    Raises
    ------
    LayerIOError
        If the package files are missing.
    """
    base = _data_dir()
    js_path, css_path = base / "leaflet.js", base / "leaflet.css"
    for path in (js_path, css_path):
        if not path.is_file():
            raise LayerIOError(
                f"Leaflet file {path} is missing from the xstatic-leaflet package; reinstall it "
                "with 'pip install --force-reinstall xstatic-leaflet'"
            )
    css = css_path.read_text(encoding="utf-8")

    def _inline(match: re.Match) -> str:
        image = base / match.group(2)
        if not image.is_file():
            return "url(data:,)"
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = _CSS_URL.sub(_inline, css)
    js = js_path.read_text(encoding="utf-8")
    # Leaflet's own source never contains "</script"; guard anyway so the page cannot break.
    js = js.replace("</script", "<\\/script")
    css = css.replace("</style", "<\\/style")
    return f"<style>{css}</style>\n<script>{js}</script>"


def external_urls(page: str) -> list[str]:
    """List the network fetches a page would make: http(s) src/href, CSS url() and tile URLs.

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        The offending snippets; empty for an offline page.
    """
    found: list[str] = []
    for pattern in _FETCH_PATTERNS:
        found.extend(m.group(0) for m in pattern.finditer(page))
    return found
