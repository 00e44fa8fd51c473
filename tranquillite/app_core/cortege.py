"""Cortège (C3): entry forms generated from the Préfecture's data contracts, same validation as
ingestion, and versioned saves into the landing zone.

* The forms are generated from `data_contracts/<record type>.yaml`: every field, its label
  verbatim, enumerations as choice lists. Nothing about the fields is written here.
* Validation is the ingestion's: the entry is written as the landing file it will become, read
  back with `landing.read_json_file` and checked by `validation.validate` — the reasons are then
  told in French.
* A save writes a NEW version file `landing/cortege/<AAAA-MM-JJ>/<id>_v<n>.json` (the day of
  entry), atomically (temporary file then `os.replace`) and never over an existing file; the
  version is reserved first in the append-only registry `cortege_entries` (primary key
  id + version), which also records who entered what — the landing file itself carries no
  agent identity (C2). The landing sensor ingests the file automatically.
* A new entry's id is taken inside the registry's write transaction (two agents saving at
  once get two ids); a version taken at the same moment by another save is refused in French.
* Every path built from an id, a version or a registry line is checked: ids are letters,
  digits, `-` and `_` only, versions integers, and the resolved path must stay in its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely
from pyproj import Transformer

from tranquillite.app_core import formats as F
from tranquillite import geo, landing
from tranquillite.app_core import store
from tranquillite.contracts import Contract, Field, contracts_for_source
from tranquillite.conventions.usage import refuse_if_closed
from tranquillite.pii import find_pii
from tranquillite.validation import validate
from tranquillite.timezones import PARIS

SOURCE = "cortege"
ID_PREFIX = "CTG"  # entries made in the app; the Préfecture's own exports use PP-…
PII_LABELS = {
    "telephone": "numéro de téléphone",
    "email": "adresse électronique",
    "plaque": "plaque d'immatriculation",
    "nom_de_personne": "nom de personne",
}
_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
_FROM_L93 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def record_types() -> dict[str, Contract]:
    """The Préfecture record types, by `type` value, in the contracts' order."""
    return {c.record_type: c for c in contracts_for_source(SOURCE) if c.record_type}


def form_fields(record_type: str) -> tuple[Field, ...]:
    """The fields an agent fills in (the envelope is set by the app)."""
    return record_types()[record_type].fields


# --------------------------------------------------------------------------- values ↔ entry
def to_iso(d: date | None, t: time | None) -> str | None:
    if d is None:
        return None
    return datetime.combine(d, t or time(0), tzinfo=PARIS).isoformat()


def from_iso(s: str | None) -> tuple[date | None, time | None]:
    if not s:
        return None, None
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None, None
    if dt.tzinfo is not None:
        dt = dt.astimezone(PARIS)
    return dt.date(), dt.time().replace(second=0, microsecond=0)


def address_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def disc_geojson(lon: float, lat: float, radius_m: float) -> dict:
    """A polygon footprint: a disc of `radius_m` metres (computed in Lambert-93) around a point."""
    x, y = _TO_L93.transform(lon, lat)
    ring = np.asarray(shapely.buffer(shapely.points(x, y), radius_m, quad_segs=8).exterior.coords)
    lo, la = _FROM_L93.transform(ring[:, 0], ring[:, 1])
    return {"type": "Polygon", "coordinates": [[[round(float(a), 6), round(float(b), 6)] for a, b in zip(lo, la)]]}


def build_entry(
    record_type: str, values: dict[str, Any], entry_id: str, version: int, saisi_le: datetime | None = None
) -> dict[str, Any]:
    """The JSON entry (envelope + every contract field by name), as the Préfecture format."""
    c = record_types()[record_type]
    entry: dict[str, Any] = {
        "id": entry_id,
        "type": record_type,
        "version": int(version),
        "saisi_le": (saisi_le or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds"),
    }
    for f in c.fields:
        v = values.get(f.name)
        if isinstance(v, str):
            v = v.strip() or None
        if f.type == "address_list" and isinstance(v, str):
            v = address_lines(v) or None
        if f.type == "address_list" and isinstance(v, list):
            v = [a.strip() for a in v if a and a.strip()] or None
        if f.type == "integer" and v is not None and not isinstance(v, str):
            v = int(v) if float(v).is_integer() else v
        entry[f.name] = v
    return entry


def values_from_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Form values (for an amendment) from a saved entry."""
    out: dict[str, Any] = {}
    for f in record_types()[entry["type"]].fields:
        v = entry.get(f.name)
        if f.type == "datetime":
            out[f.name] = from_iso(v)
        elif f.type == "address_list":
            out[f.name] = "\n".join(v or [])
        elif f.type == "geometry":
            out[f.name] = json.dumps(v, ensure_ascii=False) if v else None
        else:
            out[f.name] = v
    return out


# --------------------------------------------------------------------------- validation
@dataclass
class Check:
    ok: bool
    messages: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    geometry: dict | None = None
    lon: float | None = None
    lat: float | None = None
    arrondissement: str | None = None


def _label(c: Contract, name: str) -> str:
    try:
        return c.field(name).label
    except KeyError:
        return name


def explain(c: Contract, reason: str, entry: dict[str, Any]) -> str:
    """One ingestion reason code, told in French with the field's contract label."""
    code, _, arg = reason.partition(":")
    label = f"« {_label(c, arg)} »" if arg else ""
    if code == "champ_obligatoire_manquant":
        return f"{label} est obligatoire."
    if code == "date_invalide":
        return f"{label}: date et heure invalides."
    if code == "valeur_invalide":
        f = next((x for x in c.all_fields if x.name == arg), None)
        if f is not None and f.type == "integer":
            return f"{label}: nombre entier attendu" + (f", au moins {int(f.min)}." if f.min is not None else ".")
        return f"{label}: valeur invalide."
    if code == "valeur_hors_enumeration":
        f = c.field(arg)
        return f"{label}: valeur hors de la liste ({', '.join(f.values)})."
    if code == "format_invalide":
        return f"{label}: format invalide."
    if code == "fin_avant_debut":
        return "La date et heure de fin est antérieure à la date et heure de début."
    if code == "hors_zone":
        return "Le lieu indiqué est hors du territoire de Marseille."
    if code == "adresse_inconnue":
        known = {f.name for f in c.all_fields}
        what = label if arg in known else f"« {arg} »"
        return (
            f"Adresse introuvable: {what} — vérifiez le nom de la voie et le code postal "
            "(référentiel des voies de Marseille)."
        )
    if code == "geometrie_invalide":
        f = c.field(arg)
        kind = {"LineString": "une ligne (LineString)", "Polygon": "un polygone (Polygon)"}.get(
            f.geometry_type or "", f.geometry_type or ""
        )
        return f"{label}: géométrie invalide — GeoJSON attendu: {kind}, valide et lisible."
    if code == "donnee_personnelle":
        where = [
            f.label for f in c.all_fields if f.free_text and entry.get(f.name) and find_pii([str(entry.get(f.name))])[0]
        ]
        kind = PII_LABELS.get(arg, arg)
        return (
            f"Donnée personnelle détectée ({kind})"
            + (f" dans « {where[0]} »" if where else "")
            + ": la convention interdit toute donnée personnelle (C2). Reformulez sans nom, "
            "téléphone, courriel ni plaque."
        )
    if code == "identifiant_duplique":
        return "Cette version de l'entrée existe déjà."
    if code == "date_hors_bornes":
        b = c.bounds
        window = (
            f" (de {b.days_before_export} jours avant à {b.days_after_export} jours après le jour de saisie)"
            if b.days_before_export is not None and b.days_after_export is not None
            else ""
        )
        return f"{label}: date hors de la période plausible{window} — vérifiez l'année et le mois."
    if code == "valeur_hors_bornes":
        f = c.field(arg)
        lo, hi = f.min, f.max
        span = (
            f" (entre {_number(lo)} et {_number(hi)})"
            if lo is not None and hi is not None
            else f" (au moins {_number(lo)})"
            if lo is not None
            else f" (au plus {_number(hi)})"
            if hi is not None
            else ""
        )
        return f"{label}: valeur hors des bornes plausibles{span}."
    if code == "champ_trop_long":
        n = c.bounds.text_max_length
        return f"{label}: texte trop long" + (f" (au plus {_number(n)} caractères)." if n else ".")
    if code == "type_entree_inconnu":
        return "Type d'entrée inconnu: choisissez manifestation, opération programmée ou visite officielle."
    if code == "entree_non_objet":
        return "Entrée illisible: un objet JSON (champ: valeur) est attendu."
    return f"Entrée refusée pour une raison technique ({reason}): signalez-la à l'équipe données."


def _number(v: float) -> str:
    return F.integer(v) if float(v).is_integer() else F.number(v, 2)


class SaveError(RuntimeError):
    pass


SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
SAFE_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BAD_ID = "Identifiant d'entrée invalide: lettres, chiffres, « - » et « _ » seulement (80 au plus), version entière."


def _safe_version(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else None


def entry_file(root: Path, day: str, entry_id: Any, version: Any) -> Path:
    """`<root>/cortege/<day>/<id>_v<version>.json`, refused (SaveError) unless it stays in its folder."""
    if (
        not (isinstance(entry_id, str) and SAFE_ID.match(entry_id))
        or _safe_version(version) is None
        or not SAFE_DAY.match(str(day))
    ):
        raise SaveError(BAD_ID)
    folder = root / SOURCE / day
    path = folder / f"{entry_id}_v{version}.json"
    if path.resolve().parent != folder.resolve():
        raise SaveError(BAD_ID)
    return path


def check_entry(entry: dict[str, Any], day: str | None = None) -> Check:
    """Validate an entry exactly as ingestion will (the same reader and the same rules)."""
    c = record_types()[entry["type"]]
    with tempfile.TemporaryDirectory(prefix="cortege-check-") as tmp:
        root = Path(tmp)
        try:
            path = entry_file(root, day or entry_day(entry), entry.get("id"), entry.get("version"))
        except (SaveError, ValueError, TypeError, KeyError):
            return Check(ok=False, messages=[BAD_ID], reasons=["identifiant_invalide"])
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        fr = landing.read_file(path, root, SOURCE)
    out = validate(fr.records, contracts_for_source(SOURCE))
    reasons: list[str] = []
    if out.quarantine is not None and out.quarantine.height:
        for rs in out.quarantine.get_column("reasons").to_list():
            reasons.extend(rs or [])
    messages = list(dict.fromkeys(explain(c, r, entry) for r in reasons))
    check = Check(ok=not reasons, messages=messages, reasons=reasons)
    clean = out.clean.get(c.name)
    if clean is not None and clean.height:
        row = clean.row(0, named=True)
        check.geometry = json.loads(row["geometry"]) if row.get("geometry") else None
        check.lon, check.lat, check.arrondissement = row.get("lon"), row.get("lat"), row.get("arrondissement")
    return check


def geocode_preview(addresses: list[str]) -> list[dict[str, Any]]:
    """Offline geocoding of the addresses typed so far (for the preview and its table)."""
    if not addresses:
        return []
    g = geo.geocode(pl.Series(addresses, dtype=pl.Utf8))
    return g.select("address", "matched_name", "precision", "lon", "lat").to_dicts()


# --------------------------------------------------------------------------- saving
_VERSION_FILE = re.compile(r"^(?P<id>.+)_v(?P<v>\d+)\.json$")


def entry_day(entry: dict[str, Any]) -> str:
    """The landing partition of an entry: the day it was entered (Europe/Paris)."""
    return datetime.fromisoformat(entry["saisi_le"]).astimezone(PARIS).date().isoformat()


def landing_versions(landing_root: Path, entry_id: str) -> dict[int, Path]:
    out: dict[int, Path] = {}
    root = landing_root / SOURCE
    if not root.exists():
        return out
    for p in root.glob(f"*/{glob_escape(entry_id)}_v*.json"):
        m = _VERSION_FILE.match(p.name)
        if m and m.group("id") == entry_id:
            out[int(m.group("v"))] = p
    return out


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", s)


def next_entry_id(con: sqlite3.Connection, landing_root: Path, year: int | None = None) -> str:
    year = year or datetime.now(PARIS).year
    prefix = f"{ID_PREFIX}-{year}-"
    seqs = [
        int(r[0][len(prefix) :])
        for r in con.execute("SELECT DISTINCT entry_id FROM cortege_entries WHERE entry_id LIKE ?", (prefix + "%",))
        if r[0][len(prefix) :].isdigit()
    ]
    root = landing_root / SOURCE
    if root.exists():
        for p in root.glob(f"*/{prefix}*_v*.json"):
            m = _VERSION_FILE.match(p.name)
            if m and m.group("id")[len(prefix) :].isdigit():
                seqs.append(int(m.group("id")[len(prefix) :]))
    return f"{prefix}{max(seqs, default=0) + 1:06d}"


def next_version(con: sqlite3.Connection, landing_root: Path, entry_id: str) -> int:
    reg = con.execute("SELECT max(version) FROM cortege_entries WHERE entry_id = ?", (entry_id,)).fetchone()[0]
    return max([reg or 0, *landing_versions(landing_root, entry_id)]) + 1


def owner(con: sqlite3.Connection, entry_id: str) -> str | None:
    r = con.execute(
        "SELECT login FROM cortege_entries WHERE entry_id = ? ORDER BY version LIMIT 1", (entry_id,)
    ).fetchone()
    return r[0] if r else None


def save_entry(
    con: sqlite3.Connection, landing_root: Path, entry: dict[str, Any], login: str, new: bool = False
) -> Path:
    """Write a NEW version file atomically; never overwrite. The entry must have passed `check_entry`.

    `new`: a new entry (version 1) — its id is taken now, inside the registry's write transaction,
    so two agents saving at once get two ids (the id the page showed is only provisional)."""
    refuse_if_closed(con, SOURCE, SaveError)  # Cortège closes at the convention's end (C9, #12)
    day = entry_day(entry)
    entry_file(landing_root, day, entry.get("id"), entry.get("version"))  # refuse before anything else
    if new and entry["version"] != 1:
        raise SaveError("Une nouvelle entrée commence à la version 1.")
    try:
        with store.transaction(con):  # one writer at a time: the id and the version are taken here
            if new:
                entry = {
                    **entry,
                    "id": next_entry_id(con, landing_root, datetime.fromisoformat(entry["saisi_le"]).year),
                }
            entry_id, version = entry["id"], int(entry["version"])
            first = owner(con, entry_id)
            if first is not None and first != login:
                raise SaveError("Seul l'agent qui a créé cette entrée peut la modifier.")
            if version != next_version(con, landing_root, entry_id):
                raise SaveError(
                    "Une version plus récente de cette entrée existe déjà: rechargez-la avant de la modifier."
                )
            target = entry_file(landing_root, day, entry_id, version)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(entry, ensure_ascii=False, indent=1).encode("utf-8")
            digest = hashlib.sha256(data).hexdigest()
            # the primary key (entry_id, version) reserves the version: two agents cannot both take it
            con.execute(
                "INSERT INTO cortege_entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry_id,
                    version,
                    entry["type"],
                    login,
                    store.iso(store.now_utc()),
                    target.relative_to(landing_root).as_posix(),
                    digest,
                ),
            )
            _write_new(target, data, entry_id, version)
    except store.IntegrityError:
        raise SaveError(
            "Une autre saisie vient d'enregistrer cette version: rechargez l'entrée avant de la modifier."
        ) from None
    return target


def _write_new(target: Path, data: bytes, entry_id: str, version: int) -> None:
    """Atomically create `target` (hidden temporary file, fsync, rename); never over an existing file."""
    if target.exists():
        raise SaveError(f"{target.name} existe déjà: une version n'est jamais réécrite.")
    # hidden temporary name: the landing sensor ignores files starting with '.'
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{entry_id}_v{version}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def own_entries(con: sqlite3.Connection, login: str) -> list[dict[str, Any]]:
    """The latest version of each entry this agent created (only theirs), newest first."""
    rows = con.execute(
        "SELECT e.entry_id, e.version, e.record_type, e.saved_at, e.path FROM cortege_entries e "
        "JOIN (SELECT entry_id FROM cortege_entries WHERE version = "
        "      (SELECT min(version) FROM cortege_entries f WHERE f.entry_id = cortege_entries.entry_id) "
        "      AND login = ?) mine USING (entry_id) "
        "WHERE e.version = (SELECT max(version) FROM cortege_entries g WHERE g.entry_id = e.entry_id) "
        "ORDER BY e.saved_at DESC",
        (login,),
    ).fetchall()
    return [dict(r) for r in rows]


def load_entry(landing_root: Path, rel_path: str) -> dict[str, Any]:
    """A saved entry by its registry path (refused unless it is a Cortège file of the landing zone)."""
    folder = (landing_root / SOURCE).resolve()
    path = (landing_root / rel_path).resolve()
    if not path.is_relative_to(folder) or path.suffix != ".json" or not _VERSION_FILE.match(path.name):
        raise SaveError(f"Chemin d'entrée refusé: {rel_path}")
    return json.loads(path.read_text(encoding="utf-8"))
