"""Drive the real app in headless Chromium (Debian's chromium + chromium-driver, selenium).

Used by `test_browser.py`, and to refresh the documentation screenshot:

    TRANQUILLITE_HOME=… python -m tests.app.browser --out apps/streamlit/docs/carte.png
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "streamlit" / "app.py"
SERVER = REPO / "apps" / "streamlit" / "server.py"  # st.App: the app + its session routes and headers
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium() -> tuple[str | None, str | None]:
    return (shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(home: Path, extra_env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """`streamlit run apps/streamlit/server.py` (the app, its session routes and security headers) on
    127.0.0.1 (a free port), for this home; yields the URL."""
    port = free_port()
    env = {
        **os.environ,
        "TRANQUILLITE_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "TRANQUILLITE_FOND_DE_CARTE": "aucun",
        **(extra_env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(SERVER),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(REPO),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit n'a pas démarré:\n" + Path(log.name).read_text(errors="replace"))
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if os.environ.get("TQ_KEEP_STREAMLIT_LOG"):
            print(f"journal du serveur: {log.name}", file=sys.stderr)
        else:
            os.unlink(log.name)


@contextlib.contextmanager
def browser(width: int = 1440, height: int = 1400) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def submit_login(d, url: str, login: str, password: str, timeout: float = 45) -> None:
    """Open the Connexion page and submit the form (does not wait for the outcome)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    d.get(url + "/connexion")
    field = WebDriverWait(d, timeout).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "input[aria-label='Identifiant']"))
    )
    field.send_keys(login)
    d.find_element(By.CSS_SELECTOR, "input[aria-label='Mot de passe']").send_keys(password)
    d.find_element(By.XPATH, "//button[.//p[text()='Se connecter']]").click()


def wait_for_h1(d, text: str, timeout: float = 45):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout).until(EC.presence_of_element_located((By.XPATH, f"//h1[contains(., {text!r})]")))


def csp_violations(d) -> list[str]:
    """Console messages of Content-Security-Policy refusals (Chromium's browser log)."""
    return [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]]


def login_and_open_map(d, url: str, login: str, password: str, timeout: float = 45) -> None:
    """Log in through the form, then wait for the map page and its deck.gl canvas."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(d, timeout)
    submit_login(d, url, login, password, timeout)
    wait.until(EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'Carte des événements')]")))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stDeckGlJsonChart'] canvas")))
    time.sleep(3)  # let deck.gl draw its layers


def screenshot(d, out: Path, max_bytes: int = 500_000) -> Path:
    """A PNG of the page, quantised if needed to stay under `max_bytes` (documentation)."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(out))
    if out.stat().st_size > max_bytes:
        img = Image.open(out).convert("RGB")
        for colors in (256, 128, 64):
            img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
            if out.stat().st_size <= max_bytes:
                break
    return out


def main() -> int:
    p = argparse.ArgumentParser(description="capture d'écran de la carte (données de $TRANQUILLITE_HOME)")
    p.add_argument("--out", type=Path, default=REPO / "apps" / "streamlit" / "docs" / "carte.png")
    p.add_argument("--login", default="demo.encadrement")
    p.add_argument("--password", default="Demo-encadrement_pm-2025")
    p.add_argument("--fond", default="aucun", help="fond de carte: aucun (hors ligne) ou carto")
    a = p.parse_args()
    home = Path(os.environ.get("TRANQUILLITE_HOME", REPO / "data"))
    with streamlit_server(home, {"TRANQUILLITE_FOND_DE_CARTE": a.fond}) as url, browser() as d:
        login_and_open_map(d, url, a.login, a.password)
        out = screenshot(d, a.out)
    print(f"{out} ({out.stat().st_size // 1024} Ko)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
