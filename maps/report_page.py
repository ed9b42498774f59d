"""The one-page printable report of a run folder: ``report.html``.

Headline numbers (potential against the targets, eligible land, roadside PV, forest cover
before and after, the afforestation sink with its 90 % range), the report figures embedded as
PNG data (so the page is self-contained and works offline), and links to the maps, the SVG
figures and the tables. Print rules fit it on A4.

Inputs: a run folder read through :mod:`sxplan.schema`, and the figures written by
:func:`sxplan.maps.figures.run_figures`. Outputs: ``report.html`` (schema key ``report``).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from sxplan.schema import dataset, read_table

from .figures import FIGURES, figure_label

__all__ = ["headline_numbers", "write_report"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",
sans-serif;margin:1.5em auto;max-width:60em;color:#222;font-size:14px}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.05em;margin:.8em 0 .3em}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #ddd;
padding:2px 8px;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.figs{display:grid;grid-template-columns:1fr 1fr;gap:6px}.figs figure{margin:0}
.figs img{width:100%;height:auto}figcaption{font-size:.8em;color:#555}
.links a{margin-right:1em}.note{font-size:.8em;color:#666}
@media print{@page{size:A4;margin:10mm}body{margin:0;max-width:none;font-size:10px}
.figs{grid-template-columns:1fr 1fr 1fr}a{color:inherit;text-decoration:none}
.noprint{display:none}figure,table{break-inside:avoid}}
"""


def _weighted(values, weights) -> float:
    return float((values * weights).sum() / weights.sum())


def headline_numbers(run_dir: str | os.PathLike, language: str = "zh+en") -> list[dict]:
    """The headline rows of the report: ``label``, ``value`` (text), ``source`` (file).

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.
    language : {"zh+en", "zh", "en"}
        Label language.

    Returns
    -------
    list of dict
        One row per headline number, in report order; a row is left out when its table is.
    """
    run = Path(run_dir)
    lab = lambda zh, en: figure_label(zh, en, language)  # noqa: E731
    rows: list[dict] = []
    if dataset("siting.bases").present_in(run):
        b = read_table(run, "siting.bases")
        src = dataset("siting.bases").path
        for level, zh, en in (("province", "全省", "province"), ("all_bases", "五大基地", "bases")):
            sel = b[(b["level"] == level) & (b["technology"] == "pv+wind")]
            if not len(sel):
                continue
            r = sel.iloc[0]
            text = f"{r['potential_gw']:,.1f} GW"
            if r["target_gw_2030"] == r["target_gw_2030"]:  # not NaN
                text += (
                    f" ({lab('目标', 'targets')} 2025: {r['target_gw_2025']:g} GW, "
                    f"2030: {r['target_gw_2030']:g} GW)"
                )
            rows.append({"label": lab(f"{zh}风光装机潜力", f"Wind+PV potential, {en}"),
                         "value": text, "source": src})  # fmt: skip
    if dataset("siting.exclusions").present_in(run):
        ex = read_table(run, "siting.exclusions")
        for _, r in ex[ex["rule"] == "eligible"].iterrows():
            rows.append({
                "label": lab(f"可用土地 ({r['technology']})", f"Eligible land ({r['technology']})"),
                "value": f"{r['km2_in_sequence']:,.0f} km² ({100 * r['share_of_study_area']:.1f}%)",
                "source": dataset("siting.exclusions").path,
            })  # fmt: skip
    if dataset("roadside.summary").present_in(run):
        rs = read_table(run, "roadside.summary")
        prov = rs[rs["level"] == "province"]
        if len(prov):
            r = prov.iloc[0]
            rows.append({
                "label": lab("高速公路边坡光伏", "Roadside PV"),
                "value": f"{r['capacity_mw']:,.0f} MW, {r['energy_gwh_per_yr']:,.0f} GWh/yr",
                "source": dataset("roadside.summary").path,
            })  # fmt: skip
    if dataset("sinks.counties").present_in(run):
        c = read_table(run, "sinks.counties")
        ds = dataset("sinks.counties")
        cover = ds.family(c.columns, "cover_{year}_pct")
        before = _weighted(c["calibrated_forest_pct"], c["area_km2"])
        text = f"{before:.2f}%"
        if cover:
            text += f" → {_weighted(c[cover[0]], c['area_km2']):.2f}% ({cover[0].split('_')[1]})"
        rows.append({"label": lab("全省森林覆盖率", "Province forest cover"), "value": text,
                     "source": ds.path})  # fmt: skip
    if dataset("sinks.trajectory").present_in(run):
        t = read_table(run, "sinks.trajectory").set_index("year")
        for year in (2025, 2030, 2060):
            if year in t.index:
                r = t.loc[year]
                rows.append({
                    "label": lab(f"{year}年新造林碳汇", f"Afforestation sink {year}"),
                    "value": f"{r['sink_tco2_per_yr'] / 1e6:.3f} MtCO₂/yr (90%: "
                    f"{r['sink_tco2_per_yr_p05'] / 1e6:.3f}–{r['sink_tco2_per_yr_p95'] / 1e6:.3f})",
                    "source": dataset("sinks.trajectory").path,
                })  # fmt: skip
    return rows


def write_report(
    run_dir: str | os.PathLike,
    figures: dict[str, dict],
    *,
    language: str = "zh+en",
    title: str = "",
    maps: tuple[str, ...] | list[str] = (),
) -> Path:
    """Write ``report.html``: headline numbers, the figures, links to maps, SVGs and tables.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.
    figures : dict
        What :func:`sxplan.maps.figures.run_figures` returned.
    language : {"zh+en", "zh", "en"}
        Label language.
    title : str
        Project name for the heading.
    maps : sequence of {"siting", "sinks"}
        Maps to link even if not written yet (the run writes them after this page); maps
        already in the folder are linked anyway.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from sxplan.layers.io import atomic_path

    run = Path(run_dir)
    esc = html.escape
    lab = lambda zh, en: esc(figure_label(zh, en, language))  # noqa: E731
    out = dataset("report").path_in(run)
    rel = lambda p: Path(p).relative_to(run).as_posix()  # noqa: E731
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(title or 'sxplan')} — {lab('报告', 'report')}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title or 'sxplan')}: {lab('规划结果摘要', 'planning summary')}</h1>",
        f"<h2>{lab('主要数字', 'Headline numbers')}</h2><table>",
    ]
    for row in headline_numbers(run, language):
        parts.append(
            f'<tr><th>{esc(row["label"])}</th><td class="n">{esc(row["value"])}</td>'
            f'<td class="note"><a href="{esc(row["source"])}">{esc(row["source"])}</a></td></tr>'
        )
    parts.append("</table>")
    links = [(dataset(f"maps.{m}"), m) for m in ("siting", "sinks")]
    present = [(ds, m) for ds, m in links if m in maps or ds.present_in(run)]
    if present:
        parts.append(f'<h2>{lab("交互地图", "Interactive maps")}</h2><p class="links">')
        parts += [f'<a href="{esc(ds.path)}">{esc(ds.path)}</a>' for ds, _ in present]
        parts.append("</p>")
    parts.append(f'<h2>{lab("图表", "Figures")}</h2><div class="figs">')
    for name, entry in figures.items():
        data = base64.b64encode(Path(entry["png"]).read_bytes()).decode("ascii")
        cap = lab(*FIGURES[name])
        parts.append(
            f'<figure id="fig-{esc(name)}"><img alt="{cap}" src="data:image/png;base64,{data}">'
            f'<figcaption>{cap} · <a href="{esc(rel(entry["svg"]))}">SVG</a> · '
            f'<a href="{esc(rel(entry["png"]))}">PNG</a></figcaption></figure>'
        )
    parts.append("</div>")
    parts.append(
        f'<p class="note">{lab("数据表见 siting/、sinks/ 目录；运行记录见", "Tables are in siting/ and sinks/; the run record is")}'  # noqa: E501
        ' <a href="run.json">run.json</a>.</p></body></html>'
    )
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return out
