"""Logic of the restitution app (Streamlit, `apps/streamlit/`), kept out of Streamlit so tests drive it.

* `store`      — `$TRANQUILLITE_HOME/app/platform.sqlite`: profiles, rights, users, access log (SQLite, WAL);
* `rights`     — the seed of the rights (initial data, then administered in the app) and `Principal`;
* `auth`       — argon2id passwords, lockout, idle sessions, OIDC identity → habilitated user;
* `queries`    — the ONE gateway through which every data query of the app goes (profile scope);
* `carte`      — the map page's filters and SQL (DuckDB, parameters only);
* `deck`       — the one helper that builds each `pydeck.Deck`;
* `cortege`    — Cortège forms generated from the data contracts, validation, versioned saves;
* `habilitations` — user administration and the Préfecture nominative-list workflow (C7);
* `transport`  — production refuses to run without TLS;
* `seed_demo`  — demo accounts, one per profile (`python -m tranquillite.app_core.seed_demo`);
* `serve`      — launcher that refuses to start in production without TLS;
* `accounts`   — bootstrap of the first gestionnaire des habilitations on a fresh install.
"""
