"""One real browser: `streamlit run` on 127.0.0.1, headless Chromium logs in and the map renders."""

from __future__ import annotations

import io
import os

import pytest

from tests.app.browser import browser, chromium, login_and_open_map, screenshot, streamlit_server
from tranquillite.app_core import store

pytestmark = pytest.mark.slow


def test_map_page_renders_in_headless_chromium(app_home, tmp_path):
    binary, driver = chromium()
    if not (binary and driver):
        if os.environ.get("CI"):  # CI installs chromium (make browser): its absence is a failure there
            pytest.fail("chromium absent en CI: `make browser` aurait dû l'installer")
        pytest.skip("chromium absent: apt-get install -y chromium chromium-driver (test navigateur ignoré)")
    pytest.importorskip("selenium", reason="selenium absent: pip install selenium (test navigateur ignoré)")
    from PIL import Image
    from selenium.webdriver.common.by import By

    with streamlit_server(app_home) as url, browser() as d:
        login_and_open_map(d, url, "demo.encadrement", "Demo-encadrement_pm-2025")
        assert not d.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
        body = d.find_element(By.TAG_NAME, "body").text
        assert "Carte des événements et des faits" in body and "manifestations" in body
        assert "Habilitations" not in body  # not in this profile's navigation
        canvas = d.find_element(By.CSS_SELECTOR, "[data-testid='stDeckGlJsonChart'] canvas")
        pixels = Image.open(io.BytesIO(canvas.screenshot_as_png)).convert("RGB").getcolors(1_000_000)
        assert len(pixels) > 20, "la carte deck.gl n'a rien dessiné"  # outlines, routes, footprints, points
        out = screenshot(d, tmp_path / "carte.png")
        assert 10_000 < out.stat().st_size < 500_000
    with store.connect() as con:
        pages = {r["page"] for r in store.access_log(con, login="demo.encadrement")}
    assert {"connexion", "carte"} <= pages
