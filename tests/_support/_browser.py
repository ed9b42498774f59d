"""Shared helpers of the browser map tests: Chromium, an opened map page, pixel checks, glyphs.

The ``browser`` fixture itself lives in ``tests/maps/conftest.py``; this module (on pytest's
pythonpath) holds what several test modules import.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

#: Screenshots for reviewers (gitignored): ``tests/_artifacts/maps/``.
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "maps"

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    candidates = [os.environ.get("SXPLAN_CHROMIUM", ""), "/usr/bin/chromium"]
    candidates.append(shutil.which("chromium") or "")
    candidates.append(shutil.which("chromium-browser") or "")
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "the map tests need Chromium and found none. Install Debian's package "
        "('make browser' does it when run as root, or 'sudo apt-get install chromium'), "
        "or set SXPLAN_CHROMIUM to a chromium binary. Playwright must not download a browser."
    )


def require_cjk_font() -> None:
    """Fail (with the fix) when fontconfig knows no Chinese font: labels would be boxes."""
    import subprocess

    fc = shutil.which("fc-list")
    found = ""
    if fc:
        found = subprocess.run(
            [fc, ":lang=zh", "family"], capture_output=True, text=True, check=False
        ).stdout.strip()
    if not found:
        pytest.fail(
            "no CJK font is installed ('fc-list :lang=zh' lists none), so every Chinese map "
            "label would render as an empty box. Run 'make browser' (installs fonts-noto-cjk "
            "as root) or 'sudo apt-get install fonts-noto-cjk'."
        )


class OpenedMap:
    """A page showing one map, with everything it tried and reported."""

    def __init__(self, context, path: Path):
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()

        def _route(route):
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        self.page.route("**/*", _route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def _dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", _dialog)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.sxplan && window.sxplan.ready === true", timeout=15000)
        self.page.wait_for_timeout(300)

    def overlay_labels(self) -> list[str]:
        labels = self.page.locator(".leaflet-control-layers-overlays label")
        return [t.strip() for t in labels.all_inner_texts()]

    def click_latlng(self, lat: float, lon: float) -> None:
        """A real mouse click at a map coordinate."""
        pt = self.page.evaluate(
            "([lat, lon]) => { const p = window.sxplanMap.latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }",
            [lat, lon],
        )
        box = self.page.locator(".folium-map").bounding_box()
        self.page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])

    def popup_text(self) -> str:
        popup = self.page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5000)
        return popup.inner_text()

    def screenshot_std(self) -> float:
        return png_std(self.page.screenshot())

    def close(self) -> None:
        self.page.close()


def png_std(png: bytes) -> float:
    """Standard deviation of the RGB values of a PNG (0 for a one-colour image)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as mem, mem.open() as src:
            rgb = src.read()[:3].astype(float)
    return float(rgb.std())


#: JavaScript: the distinct CJK characters of the page's visible text whose glyph renders as
#: the font's missing-glyph box. Each character is drawn on a canvas in the computed font of
#: the element holding it and compared, pixel for pixel, with a code point no font has
#: (U+10FFFD, private use, plane 16), drawn in the same font: a character without a glyph
#: falls back to the same ".notdef" drawing, so the two images are equal. A character that
#: renders blank is counted as missing too.
MISSING_GLYPHS_JS = r"""
(extra) => {
  const canvas = document.createElement('canvas');
  canvas.width = 40; canvas.height = 40;
  const g = canvas.getContext('2d', {willReadFrequently: true});
  function draw(ch, font) {
    g.clearRect(0, 0, 40, 40);
    g.font = '24px ' + font;
    g.fillStyle = '#000';
    g.textBaseline = 'top';
    g.fillText(ch, 4, 4);
    return g.getImageData(0, 0, 40, 40).data;
  }
  function same(a, b) {
    for (let i = 3; i < a.length; i += 4) { if (a[i] !== b[i]) { return false; } }
    return true;
  }
  function blank(a) {
    for (let i = 3; i < a.length; i += 4) { if (a[i] !== 0) { return false; } }
    return true;
  }
  const cjk = /[\u3400-\u9fff\uf900-\ufaff]/;
  const found = new Map();  // char -> font family
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const family = getComputedStyle(node.parentElement).fontFamily;
    for (const ch of node.nodeValue) {
      if (cjk.test(ch) && !found.has(ch)) { found.set(ch, family); }
    }
  }
  for (const [ch, family] of extra || []) { found.set(ch, family); }
  const missing = [];
  const refs = new Map();
  for (const [ch, family] of found) {
    if (!refs.has(family)) { refs.set(family, draw('\u{10FFFD}', family)); }
    const img = draw(ch, family);
    if (blank(img) || same(img, refs.get(family))) { missing.push(ch); }
  }
  return {checked: found.size, missing: missing};
}
"""


def missing_glyphs(page, extra: list[tuple[str, str]] = ()) -> dict:
    """``{"checked": n, "missing": [chars]}`` for the page's CJK text (plus ``extra``)."""
    return page.evaluate(MISSING_GLYPHS_JS, [list(e) for e in extra])
