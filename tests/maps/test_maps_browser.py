"""Open the maps in headless Chromium (Debian's package) with every network request blocked.

Checks, per map: no console or page errors, the Leaflet map object exists, the layer control
lists the expected layers, a real mouse click on a feature opens its popup with its attributes,
markup in attribute values shows as text (no dialog, no injected element), and a screenshot is
not blank.
"""

from __future__ import annotations

import pytest
from _browser import OpenedMap, png_std

pytestmark = pytest.mark.browser


def _assert_clean(opened: OpenedMap) -> None:
    assert opened.blocked == [], f"the map tried the network: {opened.blocked}"
    assert opened.errors == [], f"console/page errors: {opened.errors}"
    assert opened.dialogs == [], f"a dialog fired (markup ran): {opened.dialogs}"
    assert opened.page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert opened.page.evaluate("window.sxplanMap instanceof L.Map") is True


def test_siting_map_in_chromium(browser, built_maps, facts):
    opened = OpenedMap(browser, built_maps["siting"])
    try:
        _assert_clean(opened)
        labels = opened.overlay_labels()
        for expected in (
            "地形晕渲 / Hillshade",
            "地级市名称 / Prefecture names",
            "光伏排除原因 / PV: why land is excluded",
            "光伏适宜性 / PV suitability",
            "光伏候选地块 / PV parcels",
            "高速公路边坡光伏 / Roadside PV",
            "风光基地 / Wind & PV bases",
            "基地名称 / Base names",
            "县界 / County boundaries",
            "市界 / Prefecture boundaries",
            # Constraint layers named by the run.json config's vector exclusion rules.
            "生态保护红线(代理) / Redline",
            "水域及500米缓冲 / Water",
            "高速公路 / Highways",
        ):
            assert expected in labels, f"{expected!r} not in layer control {labels}"
        # Wind outputs are absent in the fixture: skipped, and said so in the panel.
        assert not any("Wind suitability" in label for label in labels)
        panel = opened.page.locator(".sx-panel").inner_text()
        assert "suitability_wind.tif" in panel and "parcels_wind.gpkg" in panel
        assert "215%" in panel  # 4.3 GW potential / 2.0 GW 2030 target, pv+wind row
        assert "9.9" not in panel  # prefecture rows are not base rows

        # Fitted to the province on open: its four corners are inside the view.
        assert opened.page.evaluate(
            "window.sxplanMap.getBounds().contains(L.latLngBounds([[37, 112], [38, 113]]))"
        )

        # A real click on parcel 2 (the one whose name is markup) opens its popup.
        _, lon, lat, _, _ = facts["parcels"][1]
        opened.click_latlng(lat, lon)
        text = opened.popup_text()
        # Rounded (1,447.2 MW -> 1,447), technology by name, place and base.
        for expected in ("PV-00002", "40.2", "1,447", "2,050", "东市", "晋北测试基地", "光伏 / PV"):
            assert expected in text, f"{expected!r} not in popup: {text!r}"
        assert "\tpv\n" not in text + "\n"
        # The criteria behind the score: one row per criterion, value (score).
        crit = text.split("指标值 (得分 0–1) / Criteria: value (score 0–1)", 1)[1]
        assert "1,540 (0.7)" in crit, crit
        assert "surprise_extra_col" not in text and "score_max" not in text
        rows = opened.page.locator(".leaflet-popup-content tr:not(:has(.sx-sec))").count()
        assert 5 <= rows <= 12, rows
        assert "面积 (km²) / Area (km²)" in text
        assert facts["xss"] in text  # markup shown literally, as text
        assert opened.page.locator(".leaflet-popup-content img").count() == 0
        _assert_clean(opened)

        # Switching a layer off removes it and hides its legend.
        opened.page.locator(
            ".leaflet-control-layers-overlays label", has_text="光伏候选地块 / PV parcels"
        ).locator("input").click()
        assert opened.page.evaluate("!window.sxplanMap.hasLayer(window.sxplan.layers.parcels_pv)")
        assert opened.page.evaluate(
            "window.sxplan.legends.parcels_pv.getContainer().style.display === 'none'"
        )
        assert opened.screenshot_std() > 10.0
    finally:
        opened.close()


def test_sinks_map_in_chromium(browser, built_maps, facts):
    opened = OpenedMap(browser, built_maps["sinks"])
    try:
        _assert_clean(opened)
        labels = opened.overlay_labels()
        assert "宜林地 / Afforestation-eligible land" in labels
        radios = opened.page.locator(".sx-choice label").all_inner_texts()
        for expected in (
            "不显示 / None",
            "基线森林覆盖率 (%) / Baseline forest cover (%)",
            "分配新增造林面积 (ha) / Allocated afforestation gain (ha)",
            "2030年固碳量 (tCO₂/年) / Sequestration 2030 (tCO₂/yr)",
        ):
            assert expected in [r.strip() for r in radios], f"{expected!r} not in {radios}"
        # The north-east county's name is a script tag: a real click shows it as text.
        opened.click_latlng(37.8, 112.8)
        text = opened.popup_text()
        assert facts["county_xss"] in text
        # calibrated cover 41, eligible 4,000 ha, gain 400 ha, 2030 sink with its range,
        # cover in 2025.
        for expected in ("41", "4,000", "400", "2,000 (90%: 1,600–2,400)", "43.5"):
            assert expected in text, f"{expected!r} not in popup: {text!r}"
        _assert_clean(opened)
        assert opened.screenshot_std() > 10.0
    finally:
        opened.close()


def test_blank_page_has_no_variance(browser, tmp_path):
    """The non-blank check can fail: an empty page has (almost) no pixel variance."""
    page = tmp_path / "blank.html"
    page.write_text("<html><body></body></html>", encoding="utf-8")
    p = browser.new_page()
    try:
        p.goto(page.as_uri())
        assert png_std(p.screenshot()) < 1.0
    finally:
        p.close()
