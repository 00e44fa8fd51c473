"""Encrypted transport (C3, C6): in production the app refuses to run without TLS.

TLS is configured either in Streamlit itself (`server.sslCertFile` + `server.sslKeyFile`, in
`.streamlit/config.toml`, as `--server.sslCertFile=…` flags or `STREAMLIT_SERVER_SSL_CERT_FILE`
variables) or by a reverse proxy that terminates TLS in front of a Streamlit bound to
127.0.0.1 — declared with `TRANQUILLITE_BEHIND_TLS_PROXY=1`. Behind that proxy the app must
not be reachable around it: it binds to the loopback interface, and any other address
(`--server.address 0.0.0.0` served plain HTTP on every interface: issue #10) is refused unless
`TRANQUILLITE_ALLOW_PUBLIC_BIND=1` says so explicitly (e.g. a proxy on another host of a
private network, firewalled).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path

from tranquillite.settings import settings


def is_production(env: Mapping[str, str] | None = None) -> bool:
    return settings(env).is_production


def tls_problem(
    env: Mapping[str, str] | None = None, cert_file: str | None = None, key_file: str | None = None
) -> str | None:
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
        return (
            "Mode production: fichier(s) TLS introuvable(s): "
            + ", ".join(missing)
            + ". L'application refuse de démarrer."
        )
    return (
        "Mode production (TRANQUILLITE_ENV=production) sans chiffrement: configurez TLS "
        "(server.sslCertFile et server.sslKeyFile) ou déclarez un mandataire inverse TLS "
        "(TRANQUILLITE_BEHIND_TLS_PROXY=1). L'application refuse de démarrer."
    )


def streamlit_address() -> str | None:
    """The address the running Streamlit server listens on (`server.address`)."""
    from streamlit import config

    return config.get_option("server.address")


def streamlit_tls_files() -> tuple[str | None, str | None]:
    """The TLS files of the running Streamlit server's configuration."""
    from streamlit import config

    return config.get_option("server.sslCertFile"), config.get_option("server.sslKeyFile")


LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if address.startswith("unix://"):
        return True  # a local socket: reachable only on this host
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(address: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """Why the server must not listen on `address` (French), or None. `None`/'' = every interface."""
    s = settings(env)
    if not (s.is_production and s.behind_tls_proxy) or is_loopback(address) or s.allow_public_bind:
        return None
    shown = address or "toutes les interfaces"
    return (
        f"Mode production derrière un mandataire TLS: l'application écouterait sur {shown} en HTTP clair, "
        "accessible sans passer par le mandataire. Liez-la à 127.0.0.1 (server.address) ou, si le mandataire "
        "est sur un autre hôte d'un réseau protégé, déclarez-le avec TRANQUILLITE_ALLOW_PUBLIC_BIND=1. "
        "L'application refuse de démarrer."
    )
