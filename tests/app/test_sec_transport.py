"""Transport (issue #10, ASVS V9/V14): behind the TLS proxy the app binds to loopback only, and the
proxy example is parsed, checked by nginx itself and serves the real app over HTTPS with its headers."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.app.helpers import REPO
from tests.system import missing
from tranquillite.app_core import security_headers
from tranquillite.app_core.transport import bind_problem, is_loopback

NGINX_CONF = REPO / "deploy" / "nginx.conf"
PROD_PROXY = {"TRANQUILLITE_ENV": "production", "TRANQUILLITE_BEHIND_TLS_PROXY": "1"}


def test_behind_the_proxy_only_loopback_unless_explicitly_allowed():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback(None)
    for address in ("0.0.0.0", "::", "10.1.2.3", None, ""):
        assert "refuse de démarrer" in bind_problem(address, PROD_PROXY), address
    assert bind_problem("127.0.0.1", PROD_PROXY) is None
    assert bind_problem("0.0.0.0", {**PROD_PROXY, "TRANQUILLITE_ALLOW_PUBLIC_BIND": "1"}) is None
    assert bind_problem("0.0.0.0", {}) is None  # development: the developer's choice


def test_serve_refuses_0000_behind_the_proxy(app_home, tmp_path):
    """The issue: production + proxy + --server.address 0.0.0.0 served plain HTTP on every interface."""
    env = {
        **PROD_PROXY,
        "TRANQUILLITE_HOME": str(app_home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "tranquillite.app_core.serve", "--server.address", "0.0.0.0", "--server.port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "127.0.0.1" in r.stderr and "refuse de démarrer" in r.stderr
    from tranquillite.app_core import serve

    code = "import sys; from tranquillite.app_core import serve; print(serve.check(sys.argv[1:]) or 'OK')"
    ok = subprocess.run(
        [sys.executable, "-c", code, "--server.port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert ok.stdout.strip().endswith("OK"), ok.stderr  # config.toml: 127.0.0.1
    allowed = subprocess.run(
        [sys.executable, "-c", code, "--server.address", "0.0.0.0"],
        env={**env, "TRANQUILLITE_ALLOW_PUBLIC_BIND": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert allowed.stdout.strip().endswith("OK"), allowed.stderr
    assert serve.SERVER.name == "server.py"


def _directives(block, name):
    return [d for d in block if d["directive"] == name]


def test_the_proxy_example_parses_and_sets_tls_and_the_headers():
    import crossplane

    parsed = crossplane.parse(str(NGINX_CONF), single=True, comments=False)
    assert parsed["status"] == "ok", parsed["errors"]
    (http,) = _directives(parsed["config"][0]["parsed"], "http")
    servers = _directives(http["block"], "server")
    plain = next(s for s in servers if any(d["args"] == ["80"] for d in _directives(s["block"], "listen")))
    assert _directives(plain["block"], "return")[0]["args"][0] == "301"
    tls = next(s for s in servers if any("ssl" in d["args"] for d in _directives(s["block"], "listen")))
    b = tls["block"]
    assert _directives(b, "ssl_protocols")[0]["args"] == ["TLSv1.2", "TLSv1.3"]
    headers = {d["args"][0]: d["args"][1] for d in _directives(b, "add_header")}
    assert all(d["args"][-1] == "always" for d in _directives(b, "add_header"))
    hsts = headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000 and "includeSubDomains" in hsts
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == security_headers.CSP  # in step with the app
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    (loc,) = _directives(b, "location")
    proxied = {d["args"][0]: d["args"][1] for d in _directives(loc["block"], "proxy_set_header")}
    assert _directives(loc["block"], "proxy_pass")[0]["args"] == ["http://tranquillite_app"]
    assert proxied["Upgrade"] == "$http_upgrade" and proxied["X-Real-IP"] == "$remote_addr"
    (up,) = _directives(http["block"], "upstream")
    assert _directives(up["block"], "server")[0]["args"][0].startswith("127.0.0.1:")
    assert _directives(http["block"], "server_tokens")[0]["args"] == ["off"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_nginx_serves_the_app_over_https_with_the_headers(app_home, tmp_path):
    nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        missing("nginx", "paquet Debian nginx-light: `make proxy`")
    from tests.app.browser import streamlit_server

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    https, http = _free_port(), _free_port()
    with streamlit_server(app_home) as app_url:
        app_port = app_url.rsplit(":", 1)[1]
        conf = (
            NGINX_CONF.read_text(encoding="utf-8")
            .replace("/etc/tranquillite/tls/fullchain.pem", str(cert))
            .replace("/etc/tranquillite/tls/privkey.pem", str(key))
            .replace("pid /run/nginx-tranquillite.pid;", f"pid {tmp_path}/nginx.pid;")
            .replace("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;")
            .replace("listen [::]:443 ssl;", "")
            .replace("listen 80;", f"listen 127.0.0.1:{http};")
            .replace("listen [::]:80;", "")
            .replace("server 127.0.0.1:8501;", f"server 127.0.0.1:{app_port};")
            .replace("worker_processes auto;", "worker_processes 1;")
        )
        (tmp_path / "logs").mkdir()
        conf_path = tmp_path / "nginx.conf"
        conf_path.write_text(conf, encoding="utf-8")
        base = [str(nginx), "-p", str(tmp_path), "-e", str(tmp_path / "logs" / "error.log"), "-c", str(conf_path)]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.check_hostname = False
            for _ in range(50):
                try:
                    r = urllib.request.urlopen(f"https://127.0.0.1:{https}/", context=ctx, timeout=5)
                    break
                except (urllib.error.URLError, ConnectionError):
                    import time

                    time.sleep(0.2)
            assert r.status == 200 and b'<div id="root">' in r.read()
            h = r.headers
            assert "max-age=63072000" in h["Strict-Transport-Security"]
            assert h["Content-Security-Policy"] == security_headers.CSP and h.get_all("X-Frame-Options") == ["DENY"]
            assert h["X-Content-Type-Options"] == "nosniff" and "nginx/" not in (h.get("Server") or "")
            health = urllib.request.urlopen(f"https://127.0.0.1:{https}/_stcore/health", context=ctx, timeout=5)
            assert health.read().strip() == b"ok"

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *a, **k):
                    return None

            with pytest.raises(urllib.error.HTTPError) as plain:
                urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{http}/carte", timeout=5)
            assert plain.value.code == 301 and plain.value.headers["Location"].startswith("https://")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
