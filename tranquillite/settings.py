"""Every setting of the platform, read from the environment in ONE place and validated.

`settings()` reads the `TRANQUILLITE_*` variables each time it is called (tests change them
with `monkeypatch`) and validates them all at once: a value that is not acceptable raises
`SettingsError` with a French message naming the variable, so a service refuses to start
instead of crashing later (`TRANQUILLITE_SESSION_IDLE_MINUTES=inf`, a date that is no date…).
`check()` is what the entry points (CLI, app, Dagster code location) call at start.

`TRANQUILLITE_HOME` (default `./data`) holds `landing/` (partner drops and Cortège entries),
`warehouse/` (Parquet tables and the read-only DuckDB catalog) and `dagster/` (the Dagster
instance). Nothing there is committed to git.

Add a setting as a field of `Settings` (with its variable in `ENV`) — never read
`os.environ` elsewhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
GEO_DIR = Path(__file__).resolve().parent / "data" / "geo"
DEFAULT_PARTITIONS_START = "2025-01-01"
TRUE_WORDS = {"1", "true", "oui", "yes", "on", "vrai"}
FALSE_WORDS = {"", "0", "false", "non", "no", "off", "faux"}


class SettingsError(ValueError):
    """A setting has a value the platform cannot work with (French message, names the variable)."""


class Settings(BaseModel):
    """The validated settings. Field names are the variables without `TRANQUILLITE_`, lower case."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    # ------------------------------------------------------------------ where data live
    home: Path
    contracts: Path = REPO_ROOT / "data_contracts"
    # first daily partition; unset: the first export day found in the landing zone (2025-01-01
    # when it is empty), so that the Dagster UI shows no missing day before the data (issue 15)
    partitions_start: date | None = None
    # last daily partition: `donnees` (the last export day found in the landing zone, so
    # that the Dagster UI shows no missing day after the data; today when it is empty),
    # `aujourdhui` (today, Europe/Paris: a live feed) or a date AAAA-MM-JJ (issue 15)
    # unset: `donnees` in development (the demo's data end long before today), `aujourdhui` in production
    # (a running daemon does not reload its definitions by itself: a live feed's new day must already be
    # a partition when it arrives)
    partitions_end: str | None = None
    # ------------------------------------------------------------------ study area (any city, #13)
    # `marseille` (default), `donnees` (no boundary: the H3 cells of the events; coordinates are
    # only checked to be valid WGS84) or the path of a boundary file of the area's zones (GeoJSON,
    # GeoPackage, shapefile…, any CRS: read with geopandas)
    area: str = "marseille"
    area_name: str | None = None  # default: "Marseille", the file's stem, "zone d'étude"
    area_zone_property: str | None = None  # the zones' code property (default: insee_arm, else the first)
    # unset: Marseille's (Europe/Paris, FR, Zone B); another area needs its time zone and has no
    # holidays unless given
    timezone: str | None = None  # IANA time zone of the area (naive timestamps are in it)
    holidays_country: str | None = None  # public holidays (`holidays` package code); `aucun`: none
    school_holidays: str | None = None  # school-holiday subdivision (e.g. `Zone B`); `aucune`: none
    shift_hours: tuple[int, ...] = (6, 14, 22)
    h3_resolution: int = 9
    # fact sources forecast, and planned-event sources (default: the City's three and the
    # Préfecture's with Marseille, `incidents` and none elsewhere); `aucune`: none
    sources: tuple[str, ...] | None = None
    planned_sources: tuple[str, ...] | None = None
    # ------------------------------------------------------------------ deployment
    env: Literal["development", "production"] = "development"
    behind_tls_proxy: bool = False
    # Dagster's run, event-log and schedule storage (dagster-postgres), required in production:
    # `postgresql+psycopg2://user:password@host:5432/dagster` (read by `deploy/dagster.yaml` from the
    # environment; a plain `postgresql://` is given the psycopg2 driver)
    dagster_pg_url: SecretStr | None = None
    # the app's store (accounts, rights, access log, Cortège registry, conventions): unset, the SQLite
    # file `$TRANQUILLITE_HOME/app/platform.sqlite` (development, `make demo`); required in production:
    # `postgresql://tranquillite_app:motdepasse@hôte:5432/tranquillite`, the app's role (INSERT/SELECT only
    # on the access log); `app_db_owner_url`, the role owning the schema (migrations, a destruction's
    # purge), if it is another
    app_db_url: SecretStr | None = None
    app_db_owner_url: SecretStr | None = None
    # ------------------------------------------------------------------ app
    session_idle_minutes: float = 30.0
    carte_max_points: int = 5000
    fond_de_carte: Literal["carto", "aucun"] = "carto"
    # ------------------------------------------------------------------ pipeline
    prevision_auto: bool = False
    # --- conventions (#12)
    destruction_auto: bool = False  # the sensor `destruction_a_echeance` starts switched on
    # --- runs
    # how long a run waits for a concurrency slot (`warehouse_writer`) held by another live run
    # before it gives up (seconds)
    pool_wait_seconds: float = 300.0
    # --- security
    # key of the access log's HMAC chain (≥ 32 characters; from a secret manager in production);
    # unset: a 0600 file `access_log_key_file` (default `$TRANQUILLITE_HOME/secrets/access_log.key`)
    access_log_key: SecretStr | None = None
    access_log_key_file: Path | None = None
    # append-only file of the chain heads published by Dagster (default `$TRANQUILLITE_HOME/audit/…`)
    access_log_heads_file: Path | None = None
    # behind the TLS proxy the app binds to loopback; another address needs this explicit consent
    allow_public_bind: bool = False
    # a session (cookie) lasts at most this long, idle or not
    session_max_hours: float = 12.0
    # who the `tranquillite` CLI writes in the access log for the reads of its commands (issue 11);
    # unset: the operating system's user running it
    cli_login: str | None = None
    # --- e-mail of the alerts (issue 15): the City's SMTP server; empty host = no e-mail
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None  # the sender address (required with a host)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    app_url: str = "http://localhost:8501"  # the app's address, in the e-mails' links

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, v: str) -> str:
        v = (v or "").strip().lower()
        return {"": "development", "dev": "development", "prod": "production"}.get(v, v)

    @field_validator("behind_tls_proxy", "prevision_auto", "destruction_auto", "allow_public_bind", mode="before")
    @classmethod
    def _flag(cls, v) -> bool:
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
        raise ValueError(f"oui/non attendu (1, 0, true, false), reçu {v!r}")

    @field_validator("area", mode="before")
    @classmethod
    def _area(cls, v) -> str:
        v = str(v).strip()
        if v.lower() in {"", "marseille"}:
            return "marseille"
        if v.lower() in {"donnees", "données", "data"}:
            return "donnees"
        path = Path(v).expanduser()
        if not path.exists():
            raise ValueError(
                "`marseille`, `donnees` ou le chemin d'un fichier de contour existant "
                f"(GeoJSON, GeoPackage, shapefile) est attendu; {v} n'existe pas"
            )
        return str(path.resolve())

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("un fuseau horaire IANA est attendu (ex. Europe/Paris, America/Toronto)") from None
        return v

    @field_validator("holidays_country", mode="before")
    @classmethod
    def _country(cls, v) -> str | None:
        if v is None:
            return None
        v = str(v).strip()
        if v.lower() in {"", "aucun", "aucune", "none", "non"}:
            return ""
        import holidays

        if v.upper() not in holidays.list_supported_countries():
            raise ValueError("un code de pays du paquet `holidays` est attendu (ex. FR, CA, US) ou `aucun`")
        return v.upper()

    @field_validator("area_name", "area_zone_property", mode="before")
    @classmethod
    def _none_word(cls, v):
        if v is None:
            return None
        v = str(v).strip()
        return None if v.lower() in {"", "aucun", "aucune", "none", "non"} else v

    @field_validator("school_holidays", mode="before")
    @classmethod
    def _school(cls, v):
        if v is None:
            return None
        v = str(v).strip()
        return "" if v.lower() in {"", "aucun", "aucune", "none", "non"} else v

    @field_validator("smtp_host", "smtp_from", "smtp_user", mode="before")
    @classmethod
    def _empty_text(cls, v):
        return None if v is None or not str(v).strip() else str(v).strip()

    @field_validator("smtp_password", mode="before")
    @classmethod
    def _empty_password(cls, v):
        return None if v is None or not str(v if not isinstance(v, SecretStr) else v.get_secret_value()) else v

    @field_validator("smtp_port", mode="after")
    @classmethod
    def _port(cls, v: int) -> int:
        if not 0 < v < 65536:
            raise ValueError("un port TCP entre 1 et 65535 est attendu")
        return v

    @model_validator(mode="after")
    def _smtp_complete(self):
        if self.smtp_host is not None and (self.smtp_from is None or "@" not in self.smtp_from):
            raise ValueError(
                "TRANQUILLITE_SMTP_HOST sans TRANQUILLITE_SMTP_FROM (l'adresse d'expédition des "
                "alertes): donner une adresse, ou laisser l'hôte vide (pas de courriel)"
            )
        if self.smtp_user is not None and self.smtp_password is None:
            raise ValueError("TRANQUILLITE_SMTP_USER sans TRANQUILLITE_SMTP_PASSWORD")
        return self

    @model_validator(mode="after")
    def _owner_needs_app_url(self):
        if self.app_db_owner_url is not None and self.app_db_url is None:
            raise ValueError(
                "TRANQUILLITE_APP_DB_OWNER_URL sans TRANQUILLITE_APP_DB_URL: le magasin de "
                "l'application serait le fichier SQLite, l'URL du propriétaire ne servirait pas"
            )
        return self

    @model_validator(mode="after")
    def _area_time_zone(self):
        if self.area != "marseille" and self.timezone is None:
            raise ValueError(
                "TRANQUILLITE_TIMEZONE: le fuseau horaire de la zone d'étude est requis hors de "
                "Marseille (ex. America/Toronto): les heures sans décalage y sont lues"
            )
        return self

    @field_validator("shift_hours", mode="before")
    @classmethod
    def _shifts(cls, v):
        if isinstance(v, str):
            try:
                v = tuple(int(x) for x in v.replace(";", ",").split(",") if x.strip())
            except ValueError:
                raise ValueError("des heures entières séparées par des virgules sont attendues (ex. 6,14,22)") from None
        v = tuple(v)
        if not v or list(v) != sorted(set(v)) or not all(0 <= h <= 23 for h in v):
            raise ValueError("des heures croissantes entre 0 et 23 sont attendues (ex. 6,14,22)")
        return v

    @field_validator("partitions_start", mode="before")
    @classmethod
    def _partitions_start(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("partitions_end", mode="before")
    @classmethod
    def _partitions_end(cls, v) -> str | None:
        s = str(v).strip().lower().replace("'", "").replace("’", "")
        if s == "":
            return None
        s = {"données": "donnees", "data": "donnees", "today": "aujourdhui"}.get(s, s)
        if s in ("donnees", "aujourdhui"):
            return s
        try:
            return date.fromisoformat(s).isoformat()
        except ValueError:
            raise ValueError(f"`donnees`, `aujourdhui` ou une date AAAA-MM-JJ attendu, reçu {v!r}") from None

    @field_validator("h3_resolution")
    @classmethod
    def _res(cls, v: int) -> int:
        if not 5 <= v <= 11:
            raise ValueError("une résolution H3 entre 5 et 11 est attendue")
        return v

    @field_validator("sources", "planned_sources", mode="before")
    @classmethod
    def _sources(cls, v):
        if v is None or isinstance(v, tuple):
            return v
        v = str(v).strip()
        if v.lower() in {"aucun", "aucune", "none"}:
            return ()
        return tuple(x.strip() for x in v.split(",") if x.strip())

    @field_validator("fond_de_carte", mode="before")
    @classmethod
    def _lower(cls, v: str) -> str:
        return str(v).strip().lower()

    @field_validator("session_idle_minutes")
    @classmethod
    def _minutes(cls, v: float) -> float:
        if not math.isfinite(v) or v < 1 or v > 24 * 60:
            raise ValueError("une durée finie entre 1 et 1440 minutes est attendue")
        return v

    @field_validator("pool_wait_seconds")
    @classmethod
    def _pool_wait(cls, v: float) -> float:
        if not math.isfinite(v) or v < 1 or v > 24 * 3600:
            raise ValueError("une durée finie entre 1 et 86 400 secondes est attendue")
        return v

    @field_validator("carte_max_points")
    @classmethod
    def _points(cls, v: int) -> int:
        if not 1 <= v <= 1_000_000:
            raise ValueError("un entier entre 1 et 1 000 000 est attendu")
        return v

    @field_validator("home", "contracts", mode="after")
    @classmethod
    def _resolved(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("access_log_key_file", "access_log_heads_file", mode="after")
    @classmethod
    def _resolved_opt(cls, v: Path | None) -> Path | None:
        return v.expanduser().resolve() if v is not None else None

    @field_validator("access_log_key", mode="after")
    @classmethod
    def _key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value().strip()) < 32:
            raise ValueError("une clé d'au moins 32 caractères est attendue (ex. `openssl rand -hex 32`)")
        return v

    @field_validator("dagster_pg_url", "app_db_url", "app_db_owner_url", mode="before")
    @classmethod
    def _empty_url(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("dagster_pg_url", "app_db_url", "app_db_owner_url", mode="after")
    @classmethod
    def _pg_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(v.get_secret_value().strip())
        except ArgumentError:
            raise ValueError("une URL postgresql://utilisateur:motdepasse@hôte:5432/base est attendue") from None
        if (
            url.get_backend_name() != "postgresql"
            or not url.database
            or url.get_driver_name() not in ("psycopg2", "psycopg")
        ):
            raise ValueError("une URL postgresql+psycopg2://utilisateur:motdepasse@hôte:5432/base est attendue")
        if "+" not in url.drivername:
            # SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3; dagster-postgres (and the store) use psycopg2
            url = url.set(drivername="postgresql+psycopg2")
            return SecretStr(url.render_as_string(hide_password=False))
        return v

    @field_validator("session_max_hours")
    @classmethod
    def _hours(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0.25 or v > 24 * 7:
            raise ValueError("une durée finie entre 0,25 et 168 heures est attendue")
        return v

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def partitions_end_mode(self) -> str:
        """`donnees`, `aujourdhui` or a date: the setting, else by environment (see `partitions_end`)."""
        return self.partitions_end or ("aujourdhui" if self.is_production else "donnees")

    @property
    def is_marseille(self) -> bool:
        return self.area == "marseille"


SECRET_FIELDS = frozenset(
    {"access_log_key", "dagster_pg_url", "app_db_url", "app_db_owner_url", "smtp_password"}
)  # never echoed in an error message
# variable → field (the only names the platform reads)
ENV = {f"TRANQUILLITE_{name.upper()}": name for name in Settings.model_fields}


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process (or of `env`), validated; `SettingsError` names every bad variable."""
    env = os.environ if env is None else env
    values: dict = {"home": Path.cwd() / "data"}
    for var, name in ENV.items():
        if var in env:
            values[name] = env[var]
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            if not err["loc"]:  # a rule across fields names its variable itself
                problems.append(msg)
                continue
            shown = "(secret non affiché)" if name in SECRET_FIELDS else repr(values.get(name))
            problems.append(f"TRANQUILLITE_{name.upper()}={shown}: {msg}")
        raise SettingsError("réglage invalide — " + "; ".join(problems)) from None


# what production keeps in PostgreSQL, by the variable giving its URL
PRODUCTION_STORES = {
    "dagster": ("dagster_pg_url", "l'historique de Dagster (exécutions, journal, planifications)"),
    "app": ("app_db_url", "le magasin de l'application (comptes, droits, journal d'accès)"),
}


def check(env: Mapping[str, str] | None = None, *, stores: tuple[str, ...] = ()) -> Settings:
    """Validate every setting at start (entry points call it). In production, the `stores` an entry
    point uses (`dagster`, `app`: the CLI runs pipelines, backups and accounts, so both) must be
    given their PostgreSQL URL: refused here, naming each, rather than at the first use."""
    s = settings(env)
    if s.is_production:
        lacking = [
            f"TRANQUILLITE_{field.upper()} ({what})"
            for field, what in (PRODUCTION_STORES[name] for name in stores)
            if getattr(s, field) is None
        ]
        if lacking:
            raise SettingsError(
                "TRANQUILLITE_ENV=production: URL PostgreSQL manquante — "
                + "; ".join(lacking)
                + " (voir docs/deploiement.md)"
            )
    return s


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def truth(self) -> Path:
        """Synthetic generator's ground truth (true intensity, injected defects)."""
        return self.home / "synthetic_truth"


def home() -> Path:
    return settings().home


def paths() -> Paths:
    return Paths(home())


def partitions_start() -> str | None:
    """`TRANQUILLITE_PARTITIONS_START` when set (None: the data's first day, `assets/partitions.py`)."""
    first = settings().partitions_start
    return first.isoformat() if first is not None else None


def contracts_dir() -> Path:
    """The data contracts' folder (`TRANQUILLITE_CONTRACTS`, validated; default `data_contracts/` of
    the repository). The contracts read from it are cached by folder (`contracts.load_contracts`),
    and the folder by the variable's value: asked for every contract lookup, it must cost nothing."""
    return _contracts_dir(os.environ.get("TRANQUILLITE_CONTRACTS"))


@lru_cache(maxsize=8)
def _contracts_dir(_raw: str | None) -> Path:
    return settings().contracts
