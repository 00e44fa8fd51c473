"""The app served with its two session routes and security headers (Streamlit's `st.App`, ASGI).

    streamlit run apps/streamlit/server.py      # what `python -m tranquillite.app_core.serve` runs

* `POST /api/session` — exchanges the one-time binding code a login hands the page for the
  session cookie (`tq_session`: HttpOnly, Secure, SameSite=Strict, Path=/): a reload or a new
  tab keeps the session (`tranquillite.app_core.sessions`);
* `POST /api/logout` — revokes the cookie's session and clears the cookie;
* `GET /api/session.js` — the few lines the page runs to post one or the other.
Both refuse a request whose `Origin` is not this site (no cross-site login or logout).

Every response carries the headers a browser needs to refuse framing, sniffing and foreign
content (`SECURITY_HEADERS`; the TLS proxy adds HSTS, see deploy/nginx.conf). Running
`streamlit run apps/streamlit/app.py` directly still works, without the cookie (one tab).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # a checkout that is not pip-installed
    sys.path.append(str(HERE.parent.parent))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from tranquillite.app_core import security_headers, sessions, store  # noqa: E402
from tranquillite.settings import settings  # noqa: E402


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


def _cookie_args() -> dict:
    return {"httponly": True, "secure": True, "samesite": "strict", "path": "/"}


async def bind_session(request: Request) -> JSONResponse:
    if not _same_origin(request):
        return JSONResponse({"ok": False}, status_code=403)
    try:
        code = str((await request.json()).get("code") or "")
    except ValueError:
        return JSONResponse({"ok": False}, status_code=400)
    with store.connect() as con:
        token = sessions.bind(con, code)
    if token is None:
        return JSONResponse({"ok": False}, status_code=403)
    response = JSONResponse({"ok": True})
    response.set_cookie(sessions.COOKIE, token, max_age=int(settings().session_max_hours * 3600), **_cookie_args())
    return response


async def end_session(request: Request) -> JSONResponse:
    if not _same_origin(request):
        return JSONResponse({"ok": False}, status_code=403)
    token = request.cookies.get(sessions.COOKIE)
    if token:
        with store.connect() as con:
            sessions.revoke(con, token=token, why="deconnexion")
    response = JSONResponse({"ok": True})
    response.delete_cookie(sessions.COOKIE, **_cookie_args())
    return response


# posted by the page once after a login (`data-code`) or a logout (`data-action="logout"`): an
# external script, so the CSP needs no 'unsafe-inline'
SESSION_JS = """(function () {
  var s = document.currentScript, d = (s && s.dataset) || {};
  var logout = d.action === "logout";
  fetch(logout ? "/api/logout" : "/api/session", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(logout ? {} : {code: d.code || ""})
  }).catch(function () {});
})();
"""


async def session_js(request: Request) -> Response:
    return Response(SESSION_JS, media_type="text/javascript", headers={"Cache-Control": "no-store"})


class SecurityHeaders:
    """Adds `security_headers.HEADERS` to every HTTP response (not to the WebSocket)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in security_headers.HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


app = st.App(
    str(HERE / "app.py"),
    routes=[
        Route("/api/session.js", session_js, methods=["GET"]),
        Route("/api/session", bind_session, methods=["POST"]),
        Route("/api/logout", end_session, methods=["POST"]),
    ],
    middleware=[Middleware(SecurityHeaders)],
)
