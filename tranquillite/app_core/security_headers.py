"""The HTTP security headers of the app (ASVS V14.4), set by `apps/streamlit/server.py` on every
response and repeated by the TLS proxy (`deploy/nginx.conf`, which adds HSTS).

The Content-Security-Policy is what Streamlit and deck.gl need, and no more: scripts only from
the app itself and the one inline flag of Streamlit's index.html, by hash (Streamlit's bundle
evaluates code: 'unsafe-eval'; deck.gl runs workers from blob: URLs), styles inline (Streamlit's themes), images and map tiles from the app and the
basemap's server (Carto; `TRANQUILLITE_FOND_DE_CARTE=aucun` for none), connections back to the
app only (WebSocket included), no framing by anyone, no plugin, forms to the app only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path


def _inline_script_hashes() -> list[str]:
    """CSP hashes of the inline scripts of Streamlit's own index.html (one flag), so no 'unsafe-inline'."""
    import streamlit

    index = Path(streamlit.__file__).parent / "static" / "index.html"
    try:
        html = index.read_text(encoding="utf-8")
    except OSError:
        return []
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    ]


BASEMAP = "https://basemaps.cartocdn.com https://*.basemaps.cartocdn.com"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' " + " ".join(_inline_script_hashes()) + " 'unsafe-eval' blob:",
        "worker-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {BASEMAP}",
        "font-src 'self' data:",
        f"connect-src 'self' data: blob: {BASEMAP}",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
