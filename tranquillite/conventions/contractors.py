"""Temporary hand-overs to a contractor (C8, art. 8): the register, the extract, the proof.

« La Ville de Marseille peut remettre de façon temporaire les données à un prestataire extérieur
[…]. Au terme de la prestation […] le prestataire s'engage à détruire toutes les copies existantes
des données […]. Une fois détruites, le prestataire doit justifier par écrit de la destruction. »

* `register`: who, for which work, which published tables and conventions, due date. Only
  conventions with `temporary_handover: true` in `conventions.yaml`, and only while in force.
* `extract`: writes the rows of those tables whose conventions are all among the hand-over's
  (row lineage: `convention` / `conventions` columns; a table without lineage counts as the
  City's own data) to `$TRANQUILLITE_HOME/exports/prestataires/<n>/`, with `manifest.json`:
  per file its rows and SHA-256, and the manifest's own reference `REM-<n>-<sha256[:12]>`.
* `record_proof`: the contractor's written proof, uploaded by the gestionnaire, is accepted only
  if it cites the hand-over's reference and every file of the manifest (by name or SHA-256);
  otherwise the problems are recorded and the hand-over stays open.
* `due_reminders`: before the due date and after it (overdue without accepted proof).
Every change goes to `contractor_events` (append-only) and the access log.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import polars as pl

from tranquillite.contracts import load_conventions

OPEN = ("enregistree", "extraite", "justificatif_refuse")
STATUS_LABELS = {
    "enregistree": "Enregistrée",
    "extraite": "Extrait remis",
    "justifiee": "Destruction justifiée",
    "justificatif_refuse": "Justificatif refusé",
}
REMIND_DAYS = 7


class HandoverError(ValueError):
    """A hand-over the convention's rules do not allow (French message)."""


def _store():
    from tranquillite.app_core import store

    return store


def _event(con: sqlite3.Connection, hid: int, login: str, profile: str, event: str, detail: dict) -> None:
    store = _store()
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    with store.transaction(con):
        con.execute(
            "INSERT INTO contractor_events (handover_id, at, login, event, detail) VALUES (?, ?, ?, ?, ?)",
            (hid, store.iso(store.now_utc()), login, event, text),
        )
    store.log_access(
        con,
        login=login,
        profile=profile,
        page="prestataires",
        action=f"remise_{event}",
        detail=json.dumps({"remise": hid, **detail}, ensure_ascii=False, sort_keys=True, default=str),
    )


def allowed_conventions(on: date | None = None) -> set[str]:
    from tranquillite.conventions import usage

    ended = usage.ended_conventions(None, on)
    return {k for k, v in load_conventions().items() if v.get("temporary_handover") and k not in ended}


def register(
    con: sqlite3.Connection,
    *,
    contractor: str,
    work: str,
    tables: list[str],
    conventions: list[str],
    due_on: date,
    login: str,
    profile: str,
    today: date | None = None,
) -> int:
    store = _store()
    today = today or date.today()
    if not contractor.strip() or not work.strip():
        raise HandoverError("Le prestataire et la prestation sont obligatoires.")
    if not tables:
        raise HandoverError("Choisissez au moins une table.")
    if due_on <= today:
        raise HandoverError("La date de fin de prestation doit être postérieure à aujourd'hui.")
    refused = sorted(set(conventions) - allowed_conventions(today))
    if refused or not conventions:
        raise HandoverError(
            "Remise temporaire interdite pour: "
            + ", ".join(refused or ["(aucune convention)"])
            + " (la convention ne la permet pas, ou a pris fin)."
        )
    bad = [t for t in tables if not re.fullmatch(r"[a-z_]+\.[a-z_]+", t)]
    if bad:
        raise HandoverError(f"Tables inconnues: {bad}")
    with store.transaction(con):
        cur = con.execute(
            "INSERT INTO contractor_handovers (contractor, work, tables, conventions, due_on, created_by, "
            "created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'enregistree')",
            (
                contractor.strip(),
                work.strip(),
                json.dumps(sorted(tables)),
                json.dumps(sorted(conventions)),
                due_on.isoformat(),
                login,
                store.iso(store.now_utc()),
            ),
        )
        hid = int(cur.lastrowid)
    _event(
        con,
        hid,
        login,
        profile,
        "enregistree",
        {
            "prestataire": contractor,
            "tables": sorted(tables),
            "conventions": sorted(conventions),
            "echeance": due_on.isoformat(),
        },
    )
    return hid


def get(con: sqlite3.Connection, hid: int) -> dict:
    r = con.execute("SELECT * FROM contractor_handovers WHERE id = ?", (hid,)).fetchone()
    if r is None:
        raise LookupError(f"remise inconnue: {hid}")
    return dict(r)


def handovers(con: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT * FROM contractor_handovers ORDER BY id DESC")]


def events(con: sqlite3.Connection, hid: int) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT * FROM contractor_events WHERE handover_id = ? ORDER BY id", (hid,))]


def open_for(con: sqlite3.Connection, convention: str) -> list[dict]:
    """Hand-overs of a convention's data not closed by an accepted proof (outside the platform)."""
    return [
        h
        for h in handovers(con)
        if h["status"] in OPEN and convention in json.loads(h["conventions"]) and h["status"] != "enregistree"
    ]


def _rows_allowed(df: pl.DataFrame, conventions: list[str]) -> pl.DataFrame:
    if "convention" in df.columns:
        df = df.filter(pl.col("convention").is_in(conventions))
    if "conventions" in df.columns:
        df = df.filter(
            pl.col("conventions").list.eval(pl.element().is_in(conventions)).list.all()
            & (pl.col("conventions").list.len() > 0)
        )
    if "convention" not in df.columns and "conventions" not in df.columns and "internal" not in conventions:
        return df.head(0)
    return df


def extract(
    con: sqlite3.Connection, home: Path, hid: int, *, login: str, profile: str, today: date | None = None
) -> dict:
    """Write the extract and its manifest (the job `extraction_prestataire` calls this)."""
    store = _store()
    h = get(con, hid)
    if h["status"] != "enregistree":
        raise HandoverError(f"Remise n° {hid}: l'extrait a déjà été produit.")
    conventions = json.loads(h["conventions"])
    refused = sorted(set(conventions) - allowed_conventions(today))
    if refused:
        raise HandoverError(f"Remise temporaire interdite pour: {', '.join(refused)}.")
    wh = Path(home) / "warehouse"
    out = Path(home) / "exports" / "prestataires" / str(hid)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for table in json.loads(h["tables"]):
        layer, name = table.split(".")
        src = wh / layer / name
        if layer in ("raw", "quarantine") or not src.exists():
            raise HandoverError(f"{table}: table non publiée ou absente")
        df = _rows_allowed(pl.read_parquet(str(src / "*.parquet")), conventions)
        f = out / f"{layer}.{name}.parquet"
        df.write_parquet(f, compression="zstd")
        files.append(
            {
                "fichier": f.name,
                "table": table,
                "lignes": df.height,
                "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
            }
        )
    body = {
        "remise": hid,
        "prestataire": h["contractor"],
        "prestation": h["work"],
        "conventions": conventions,
        "echeance": h["due_on"],
        "fichiers": files,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    manifest = {**body, "reference": f"REM-{hid}-{digest[:12]}", "manifest_sha256": digest}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    with store.transaction(con):
        con.execute(
            "UPDATE contractor_handovers SET status = 'extraite', extract_dir = ?, manifest_sha256 = ?, "
            "manifest = ? WHERE id = ?",
            (str(out), digest, json.dumps(manifest, ensure_ascii=False), hid),
        )
    _event(
        con,
        hid,
        login,
        profile,
        "extraite",
        {"reference": manifest["reference"], "fichiers": len(files), "lignes": sum(f["lignes"] for f in files)},
    )
    return manifest


def proof_text(name: str, data: bytes) -> str:
    """The text of an uploaded proof (text formats; a PDF's uncompressed text)."""
    if name.lower().endswith(".pdf"):
        return " ".join(m.decode("latin-1") for m in re.findall(rb"\(([^()]*)\)", data))
    return data.decode("utf-8", errors="replace")


def check_proof(manifest: dict, text: str) -> list[str]:
    """What the proof lacks against the manifest (empty: accepted)."""
    problems = []
    if manifest["reference"] not in text:
        problems.append(f"la référence {manifest['reference']} n'est pas citée")
    for f in manifest["fichiers"]:
        if f["fichier"] not in text and f["sha256"] not in text:
            problems.append(f"le fichier {f['fichier']} (SHA-256 {f['sha256'][:12]}…) n'est pas mentionné")
    if not re.search(r"d[ée]trui", text, re.IGNORECASE):
        problems.append("le document n'atteste pas la destruction (aucune mention « détruit »)")
    return problems


def record_proof(con: sqlite3.Connection, hid: int, name: str, data: bytes, *, login: str, profile: str) -> list[str]:
    store = _store()
    h = get(con, hid)
    if h["status"] not in ("extraite", "justificatif_refuse"):
        raise HandoverError(f"Remise n° {hid}: aucun extrait remis, rien à justifier.")
    problems = check_proof(json.loads(h["manifest"]), proof_text(name, data))
    status = "justificatif_refuse" if problems else "justifiee"
    with store.transaction(con):
        con.execute(
            "UPDATE contractor_handovers SET status = ?, proof_name = ?, proof_sha256 = ?, proof_checked_at = ?, "
            "proof_problems = ? WHERE id = ?",
            (
                status,
                name,
                hashlib.sha256(data).hexdigest(),
                store.iso(store.now_utc()),
                json.dumps(problems, ensure_ascii=False),
                hid,
            ),
        )
    _event(
        con,
        hid,
        login,
        profile,
        "justificatif_" + ("refuse" if problems else "accepte"),
        {"document": name, "sha256": hashlib.sha256(data).hexdigest()[:16], "problemes": problems},
    )
    if not problems and h["extract_dir"] and Path(h["extract_dir"]).exists():
        import shutil

        shutil.rmtree(h["extract_dir"])  # the platform's copy of the extract goes too
    return problems


def due_reminders(con: sqlite3.Connection, on: date | None = None) -> list[dict]:
    on = on or date.today()
    out = []
    for h in handovers(con):
        if h["status"] not in OPEN:
            continue
        due = date.fromisoformat(h["due_on"])
        days = (due - on).days
        subject = f"remise n° {h['id']} — {h['contractor']}"
        if days < 0:
            out.append(
                {
                    "kind": "prestataire_en_retard",
                    "level": "depasse",
                    "due_on": due,
                    "days_left": days,
                    "subject": subject,
                    "label": f"Justificatif de destruction en retard de {-days} jour(s) ({subject})",
                }
            )
        elif days <= REMIND_DAYS:
            out.append(
                {
                    "kind": "prestataire_echeance",
                    "level": "avertissement",
                    "due_on": due,
                    "days_left": days,
                    "subject": subject,
                    "label": f"Fin de prestation dans {days} jour(s): destruction à justifier ({subject})",
                }
            )
        if h["status"] == "justificatif_refuse":
            out.append(
                {
                    "kind": "prestataire_justificatif_refuse",
                    "level": "urgent",
                    "due_on": due,
                    "days_left": days,
                    "subject": subject,
                    "label": f"Justificatif refusé: {', '.join(json.loads(h['proof_problems']))}",
                }
            )
    return out
