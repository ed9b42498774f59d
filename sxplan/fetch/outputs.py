"""Text written next to the fetched data: ``sources.md``, and ``missing.md`` when needed.

``missing.md`` tells how to fetch by hand what could not be downloaded.

Inputs: the per-layer results of a fetch. Outputs: Markdown text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LayerResult", "missing_text", "sources_md"]


@dataclass
class LayerResult:
    """What happened to one requested layer.

    Attributes
    ----------
    layer : str
        The ``--layers`` name.
    source : sxplan.fetch.catalog.Source
        Its catalog entry.
    outputs : dict of str to pathlib.Path
        Role -> file written in the destination (empty when missing).
    wanted : list of tuple of str
        ``(url, file name)`` of every file the layer needs; for user files the URL is the
        publisher's page.
    failed : list of tuple of str
        ``(url, file name, reason)`` of the files that could not be had.
    notes : list of str
        Anything a reader of sources.md should know (sea tiles, unchecked checksums ...).
    """

    layer: str
    source: object
    outputs: dict = field(default_factory=dict)
    wanted: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the layer was written."""
        return bool(self.outputs) and not self.failed


def sources_md(
    results: list[LayerResult], area, fallbacks: dict[str, str], dest: Path, mirror=None
) -> str:
    """Return ``sources.md``: per layer, the files, source, licence, citation and checks."""
    lines = [
        f"# Data sources for {area.name}",
        "",
        f"Written by `sxplan data fetch`. Study area: {area.name} ({area.kind}), clipped to "
        f"the box {tuple(round(v, 4) for v in area.bounds)} (area plus {area.margin_m:g} m, "
        "WGS84). Boundaries: embedded demo admin.gpkg (DataV GCJ-02, shifted to WGS84; "
        "sxplan/data/shanxi/DATA.md)."
        if area.kind != "file"
        else f"Written by `sxplan data fetch`. Study area: {area.name} (user file), clipped to the "
        f"box {tuple(round(v, 4) for v in area.bounds)} (area plus {area.margin_m:g} m).",
        "",
    ]
    if mirror:
        lines += [
            f"Downloaded from the mirror {mirror} (laid out as <mirror>/<source id>/<path>).",
            "",
        ]
    for r in results:
        s = r.source
        status = "fetched" if r.ok else "**MISSING**"
        files = ", ".join(f"`{Path(p).relative_to(dest).as_posix()}`" for p in r.outputs.values())
        lines += [
            f"## {r.layer}: {s['title']} ({status})",
            "",
            f"- Files: {files or 'none'}",
            f"- Source id: `{s.id}`; format: {s.get('format', '')}; resolution: "
            f"{s.get('resolution', '')}",
            f"- Licence: {s['licence']}",
            f"- Citation: {s['citation']}",
            f"- Checksum: {s.get('checksum', 'none')}",
            f"- Catalog check: {s.get('checked', '')}",
        ]
        if s.unverified:
            lines.append("- Status of this catalog entry: partly **unverified** (see above)")
        lines += [f"- Note: {n}" for n in r.notes]
        lines += [f"- Could not fetch: {u} ({why})" for u, _n, why in r.failed]
        lines.append("")
    if fallbacks:
        lines += ["## Demo fallbacks (not fetched)", ""]
        lines += [f"- `{name}`: {text}" for name, text in fallbacks.items()]
        lines.append("")
    return "\n".join(lines)


def missing_text(results: list[LayerResult], from_dir: Path | None, command: str) -> str:
    """Instructions for every missing layer: its URLs and where to put hand-downloaded files."""
    where = str(from_dir) if from_dir else "a folder of your choice (then pass --from-dir)"
    lines = [
        "# Layers that could not be fetched",
        "",
        f"Download each file below on a machine with internet, save it under the file name "
        f"shown, into {where}, and run again:",
        "",
        f"    {command}",
        "",
        "Files already downloaded stay in the cache and are not fetched again.",
        "",
    ]
    for r in results:
        if r.ok:
            continue
        lines += [f"## {r.layer} ({r.source['title']})", ""]
        for url, name, why in r.failed:
            lines.append(f"- {url}\n  save as: `{name}`\n  ({why})")
        lines.append("")
    return "\n".join(lines)
