"""Start the restitution app, refusing in production when transport is not encrypted.

    python -m tranquillite.app_core.serve [streamlit options, e.g. --server.port 8501]

Reads Streamlit's configuration exactly as `streamlit run` would (config.toml files, environment,
flags), checks `transport.tls_problem` and `transport.bind_problem` (behind the TLS proxy: the
loopback interface only, unless `TRANQUILLITE_ALLOW_PUBLIC_BIND=1`), then hands over to
`streamlit run apps/streamlit/server.py` (the app with its session routes and security headers).
The app itself repeats the checks on every session (`apps/streamlit/app.py`).
"""

from __future__ import annotations

import sys

from tranquillite.app_core.transport import bind_problem, tls_problem
from tranquillite.settings import REPO_ROOT

APP = REPO_ROOT / "apps" / "streamlit" / "app.py"
SERVER = REPO_ROOT / "apps" / "streamlit" / "server.py"


def _flags(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if not a.startswith("--") or "." not in a:
            continue
        if "=" in a:
            k, v = a[2:].split("=", 1)
        elif i + 1 < len(argv):
            k, v = a[2:], argv[i + 1]
            next(it, None)
        else:
            continue
        out[k] = v
    return out


def check(argv: list[str]) -> str | None:
    from tranquillite.settings import SettingsError, check as check_settings

    try:
        check_settings()
    except SettingsError as exc:
        return str(exc)
    from streamlit import config
    from streamlit.web import bootstrap

    config._main_script_path = str(APP)  # script-level .streamlit/config.toml is read as by `streamlit run`
    bootstrap.load_config_options(flag_options=_flags(argv))
    return tls_problem(
        cert_file=config.get_option("server.sslCertFile"), key_file=config.get_option("server.sslKeyFile")
    ) or bind_problem(config.get_option("server.address"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = check(argv)
    if problem:
        print(f"tranquillite: {problem}", file=sys.stderr)
        return 2
    from tranquillite.filemodes import private_home

    private_home()  # umask 077, home 0700 (inherited by the Streamlit server)
    from tranquillite.app_core import store

    try:
        store.init_store()  # migrated to this version's schema, learns its pages (once, before serving)
    except store.StoreMisconfigured as exc:
        print(f"tranquillite: {exc}", file=sys.stderr)
        return 2
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(SERVER), *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
