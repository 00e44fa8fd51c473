"""Encrypted transport (C3, C6): in production the app refuses to run without TLS.

TLS is configured either in Streamlit itself (`server.sslCertFile` + `server.sslKeyFile`, in
`.streamlit/config.toml`, as `--server.sslCertFile=…` flags or `STREAMLIT_SERVER_SSL_CERT_FILE`
variables) or by a reverse proxy that terminates TLS in front of a Streamlit bound to
127.0.0.1 — declared with `TRANQUILLITE_BEHIND_TLS_PROXY=1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tranquillite.settings import settings


def is_production(env: Mapping[str, str] | None = None) -> bool:
    return settings(env).is_production


def tls_problem(env: Mapping[str, str] | None = None, cert_file: str | None = None,
                key_file: str | None = None) -> str | None:
    """Why the app must refuse to serve (French message), or None when transport is acceptable."""
    s = settings(env)
    if not s.is_production:
        return None
    if s.behind_tls_proxy:
        return None
    if cert_file and key_file:
        missing = [f for f in (cert_file, key_file) if not Path(f).is_file()]
        if not missing:
            return None
        return ("Mode production: fichier(s) TLS introuvable(s): " + ", ".join(missing)
                + ". L'application refuse de démarrer.")
    return ("Mode production (TRANQUILLITE_ENV=production) sans chiffrement: configurez TLS "
            "(server.sslCertFile et server.sslKeyFile) ou déclarez un mandataire inverse TLS "
            "(TRANQUILLITE_BEHIND_TLS_PROXY=1). L'application refuse de démarrer.")


def streamlit_tls_files() -> tuple[str | None, str | None]:
    """The TLS files of the running Streamlit server's configuration."""
    from streamlit import config
    return config.get_option("server.sslCertFile"), config.get_option("server.sslKeyFile")
