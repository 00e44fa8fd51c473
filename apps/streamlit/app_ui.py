"""Shared Streamlit plumbing of the app: session, principal, guard, access log, caches.

Pages import this module; the logic itself lives in `tranquillite.app_core` (tested without
Streamlit). The principal is resolved by the entrypoint on EVERY run from the store (a
withdrawn habilitation applies at the next click) and every page calls `require(page)`
before anything else — even a page reached by URL is checked server-side again.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path

import streamlit as st

from tranquillite.app_core import auth, carte, queries, reads, sessions, store
from tranquillite.app_core.rights import PAGES, Principal, load_principal, public_principal
from tranquillite.settings import paths
from tranquillite.timezones import PARIS

SESSION = "tq_session"  # {"login", "method", "last_seen", "ref"}
COOKIE_JS = "tq_cookie_js"  # the session script to run once: ("bind", code) or ("logout", None)
PRINCIPAL = "tq_principal"
FLASH = "tq_flash"
REQUESTED_PAGE = "tq_requested_page"  # url path of the page this run shows (for the refusal page)
LAST_LOG = "tq_last_log"
OIDC_REFUSED = "tq_oidc_refused"


# --------------------------------------------------------------------------- OIDC
def oidc_configured() -> bool:
    """OIDC is on when `.streamlit/secrets.toml` has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def oidc_provider() -> str | None:
    try:
        section = st.secrets["auth"]
    except Exception:
        return None
    providers = [k for k, v in section.items() if isinstance(v, dict) or hasattr(v, "items")]
    return providers[0] if providers and "client_id" not in section else None


def oidc_email() -> str | None:
    try:
        if st.user.get("is_logged_in"):
            return st.user.get("email")
    except Exception:
        return None
    return None


def client_address() -> str | None:
    """The client's address for the login rate limit: behind the TLS proxy, the `X-Real-IP` it sets
    (deploy/nginx.conf overwrites any value the client sent); else the connection's address."""
    from tranquillite.settings import settings

    try:
        ip = st.context.headers.get("X-Real-IP") if settings().behind_tls_proxy else st.context.ip_address
    except Exception:  # no client context (bare mode)
        return None
    return ip if isinstance(ip, str) and ip else None


# --------------------------------------------------------------------------- session
def flash(kind: str, message: str) -> None:
    st.session_state.setdefault(FLASH, []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop(FLASH, []):
        getattr(st, kind)(message)


def start_session(login: str, method: str) -> None:
    """A new session: in this tab, and for a local account in the store, bound to the cookie by the page."""
    ref = None
    if method == "local":
        with store.connect() as con:
            ref, code = sessions.open_session(con, login, method)
        st.session_state[COOKIE_JS] = ("bind", code)
    st.session_state[SESSION] = {"login": login, "method": method, "last_seen": store.now_utc(), "ref": ref}
    st.session_state.pop(LAST_LOG, None)
    if SHARED_VIEW in st.session_state:
        st.session_state[RESTORE_VIEW] = st.session_state.pop(SHARED_VIEW)


SHARED_VIEW = "tq_shared_view"
RESTORE_VIEW = "tq_restore_view"
MAP_URL_KEYS = ("periode", "de", "a", "sources", "cat", "arr", "vue", "h3")  # the Carte's bound widgets


def keep_shared_view(p: Principal) -> None:
    """Before login, remember the map filters of the URL (going to Connexion drops them); after
    login the Carte page puts them back in its widgets (`restored_view`)."""
    if p.is_public:
        view = {k: st.query_params.get_all(k) for k in MAP_URL_KEYS if k in st.query_params}
        if view:
            st.session_state[SHARED_VIEW] = view


def restored_view() -> dict[str, list[str]] | None:
    """The URL filters kept through the login, once (None when the URL already has its own)."""
    view = st.session_state.pop(RESTORE_VIEW, None)
    if view and not any(k in st.query_params for k in MAP_URL_KEYS):
        return view
    return None


def end_session(reason: str = "deconnexion") -> None:
    """End this tab's session; the store's session is revoked (every tab, the cookie becomes useless)."""
    sess = st.session_state.pop(SESSION, None)
    p = st.session_state.pop(PRINCIPAL, None)
    st.session_state.pop(LAST_LOG, None)
    if sess:
        with store.connect() as con:
            if sess.get("ref"):
                sessions.revoke(con, sess["ref"], reason)
                st.session_state[COOKIE_JS] = ("logout", None)
            store.log_access(
                con, login=sess["login"], profile=p.profile if p else "inconnu", page="connexion", action=reason
            )


def session_cookie() -> str | None:
    """The session cookie this tab's WebSocket was opened with (None: no cookie / no browser)."""
    try:
        token = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # bare mode
        return None
    return token if isinstance(token, str) and token else None


def run_cookie_script() -> None:
    """Post the pending binding code (after a login) or the logout, once (`apps/streamlit/server.py`)."""
    pending = st.session_state.pop(COOKIE_JS, None)
    if pending:
        action, code = pending
        attrs = f'data-action="{action}"' + (f' data-code="{code}"' if code else "")  # token_urlsafe: [A-Za-z0-9_-]
        st.html(f'<script src="/api/session.js" {attrs}></script>', unsafe_allow_javascript=True, width=1)


def resolve_principal() -> Principal | None:
    """The principal of this run (None: an OIDC identity that is not habilitated — gets nothing)."""
    now = store.now_utc()
    sess = st.session_state.get(SESSION)
    with store.connect() as con:
        email = oidc_email() if oidc_configured() else None
        if email and (sess is None or sess.get("method") != "oidc"):
            if st.session_state.get(OIDC_REFUSED) == email:
                return None
            login = auth.oidc_login(con, email)
            if login is None:
                st.session_state[OIDC_REFUSED] = email
                return None
            start_session(login, "oidc")
            sess = st.session_state[SESSION]
            store.log_access(
                con,
                login=login,
                profile=con.execute("SELECT profile FROM users WHERE login = ?", (login,)).fetchone()[0],
                page="connexion",
                action="connexion_reussie",
                detail="OIDC",
            )
        if sess is None:  # a reload or a new tab: the store's session of the cookie, if any
            token = session_cookie()
            resumed = sessions.resume(con, token) if token else None
            if resumed:
                sess = st.session_state[SESSION] = {**resumed, "last_seen": now}
                row = con.execute("SELECT profile FROM users WHERE login = ?", (resumed["login"],)).fetchone()
                store.log_access(
                    con,
                    login=resumed["login"],
                    profile=row[0] if row else "inconnu",
                    page="connexion",
                    action="session_reprise",
                    detail="cookie de session",
                )
        if sess:
            if sess.get("ref") and not sessions.alive(con, sess["ref"]):  # logged out in another tab
                st.session_state.pop(SESSION, None)
                st.session_state.pop(PRINCIPAL, None)
                flash("warning", "Session terminée (déconnexion ou changement de mot de passe): reconnectez-vous.")
                return public_principal(con)
            if auth.session_expired(sess["last_seen"], now):
                end_session("session_expiree")
                flash("warning", "Session expirée après inactivité: reconnectez-vous.")
                if sess.get("method") == "oidc":
                    st.logout()
                return public_principal(con)
            p = load_principal(con, sess["login"], sess["method"])
            if p is None:
                end_session("habilitation_retiree")
                flash("error", "Votre habilitation n'est plus active.")
                return public_principal(con)
            sess["last_seen"] = now
            if sess.get("ref"):
                sessions.touch(con, sess["ref"], now)
            return p
        return public_principal(con)


def public_scope():
    """What the public may see (the public page shows the same figures to everybody)."""
    with store.connect() as con:
        return public_principal(con).scope


def principal() -> Principal:
    p = st.session_state.get(PRINCIPAL)
    if p is None:
        st.error("Accès refusé.")
        st.stop()
    return p


def require(page: str) -> Principal:
    """First line of every page: the page must be one the principal's profile may open."""
    p = principal()
    if not p.may_open(page):
        with store.connect() as con:
            store.log_access(con, login=p.login, profile=p.profile, page=page, action="acces_refuse")
        st.error("Cette page n'est pas ouverte à votre profil.")
        st.stop()
    return p


def log_view(
    p: Principal,
    page: str,
    filters: dict | None = None,
    action: str = "consultation",
    export: bool = False,
    detail: str | None = None,
) -> None:
    """Append to the access log — once per distinct (page, filters, action, reads) in a row for a session.

    Inside a page run (`page_run`) the line waits for the end of the run, so that it carries what
    the view read through the gateway after this call (`reads`); outside one it is written now."""
    view = {"page": page, "filters": filters or {}, "action": action, "export": export, "detail": detail}
    run = reads.current()
    if run is not None:
        run.views.append((len(run.reads), view))
        return
    _write_views(p, [(view, [])])


def log_choices(p: Principal, page: str, choices: dict) -> None:
    """The choices made on a page (filters, horizon, date…), added to the view it logged in this run —
    or logged as a view of their own outside a page run or when the page logged none."""
    run = reads.current()
    if run is not None:
        for _, view in reversed(run.views):
            if view["page"] == page and view["action"] == "consultation":
                view["filters"] = {**view["filters"], **choices}
                return
    log_view(p, page, choices)


def _write_views(p: Principal, views: list[tuple[dict, list]]) -> None:
    """Write the views of a run (each with its reads), skipping those identical to the previous run's."""
    previous = st.session_state.get(LAST_LOG) or []
    previous = previous if isinstance(previous, list) else [previous]
    keys = []
    with store.connect() as con:
        for view, got in views:
            summary = reads.summarise(got)
            key = json.dumps(
                [view["page"], view["filters"], view["action"], view["detail"], summary], sort_keys=True, default=str
            )
            if not view["export"]:
                keys.append(key)
                if key in previous:
                    continue
            store.log_access(
                con,
                login=p.login,
                profile=p.profile,
                page=view["page"],
                action=view["action"],
                filters=view["filters"],
                export=view["export"],
                detail=view["detail"],
                reads=reads.to_json(got),
            )
    st.session_state[LAST_LOG] = keys


def flush_run(p: Principal | None, page: str, run: reads.Collector) -> None:
    """End of a page run: its views, each with the reads made after it (the first one also gets the
    reads made before it); reads without any view get a line of their own (`lecture`)."""
    if p is None:
        return
    if not run.views:
        if run.reads:
            _write_views(
                p, [({"page": page, "filters": {}, "action": "lecture", "export": False, "detail": None}, run.reads)]
            )
        return
    starts = [0] + [i for i, _ in run.views[1:]] + [len(run.reads)]
    _write_views(p, [(view, run.reads[starts[k] : starts[k + 1]]) for k, (_, view) in enumerate(run.views)])


def cached_read(**cache_kwargs):
    """`st.cache_data` for a function that reads through the gateway: the reads it made are kept
    with the cached value and count again in every run served from the cache (access log, T4)."""

    def decorate(fn):
        @st.cache_data(**cache_kwargs)
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            with reads.collecting() as got:
                value = fn(*args, **kwargs)
            return value, got.reads

        @functools.wraps(fn)
        def read(*args, **kwargs):
            value, got = compute(*args, **kwargs)
            reads.replay(got)
            return value

        read.clear = compute.clear
        return read

    return decorate


# --------------------------------------------------------------------------- data (cached)
@st.cache_resource(show_spinner=False, max_entries=2)
def _catalog(path: str, version: int) -> queries.Catalog:
    return queries.Catalog.open(Path(path))


def catalog() -> queries.Catalog:
    """The read-only catalog; reopened when the pipeline republishes it (new file, new mtime)."""
    path = queries.catalog_path()
    version = path.stat().st_mtime_ns if path.exists() else 0
    return _catalog(str(path), version)


@cached_read(show_spinner=False, ttl=600, max_entries=64)
def map_data(_cat: queries.Catalog, catalog_version: int, scope, filters: carte.MapFilters) -> carte.MapData:
    """Slices of the map, cached per catalog version × SCOPE × filters (never shared across scopes)."""
    return carte.map_data(_cat, scope, filters)


def read_or_explain(read, *args, missing: str):
    """Run a scoped read; on a table not published yet show `missing`, on a refusal its reason —
    and return None (the page goes on without that part)."""
    try:
        return read(*args)
    except queries.NotAvailable:
        st.info(missing)
    except queries.Forbidden as exc:
        st.warning(str(exc))
    return None


def landing_root() -> Path:
    return paths().landing


def page_title(code: str) -> str:
    return PAGES[code]["title"]


def fmt_ts(iso_ts: str | None) -> str:
    if not iso_ts:
        return ""
    return datetime.fromisoformat(iso_ts).astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


# --------------------------------------------------------------------------- the alerts' badge (issue 15)
@cached_read(show_spinner=False, ttl=300, max_entries=32)
def alert_ids(_cat: queries.Catalog, catalog_version: int, scope, rules: tuple) -> tuple[str, ...]:
    """The ids of the alerts a scope sees (the pipeline's and the thresholds crossed), cached per
    catalog version × scope × thresholds: the badge then costs one store query."""
    from tranquillite.app_core import alertes

    return tuple(r["alert_id"] for r in alertes.alert_rows(_cat, scope, rules))


def alert_badge(p: Principal) -> int:
    """New alerts for this person: visible, not opened by them, not closed (the navigation's « Alertes (n) »)."""
    from tranquillite.app_core import alertes

    if p.is_public or not p.may_open(alertes.PAGE):
        return 0
    cat = catalog()
    with store.connect() as con:
        ids = alert_ids(cat, cat.version, p.scope, alertes.rules_key(con))
        return alertes.unread_count(con, p.login, list(ids))
