"""A change in the nature of a convention's data (C2, art. 3): fingerprinted contracts, DPO gate.

« En cas de modification de la nature des données transmises, les délégués à la protection des
données seront informés de cette décision, et une étude d'impact sera lancée avant la
modification de cette transmission. »

The contracts of every source of a convention marked `contracts_fingerprinted: true` are reduced
to what defines the nature of the data — each field's name, label (its meaning), type,
enumeration, whether it is required or free text, geometry — and hashed. The first fingerprint is
recorded when the registry is seeded; a different one blocks ingestion of the source (a blocking
asset check on its raw asset) until the DPO records, in the app, the date the DPOs were informed
and the reference of the impact study. Every acknowledgement is appended, never changed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

from tranquillite.contracts import Contract, load_contracts, load_conventions

SEED_LOGIN = "amorcage"
_FIELD_KEYS = (
    "name",
    "label",
    "type",
    "required",
    "values",
    "free_text",
    "geometry_type",
    "derived_from",
    "pattern",
    "min",
    "column",
)


def _field(f) -> dict:
    d = {k: getattr(f, k) for k in _FIELD_KEYS}
    d["values"] = list(d["values"])
    d["derived_from"] = list(d["derived_from"])
    return d


def describe(contracts: list[Contract]) -> dict:
    """What defines the nature of a source's data, canonically ordered."""
    return {
        c.name: {
            "title": c.title,
            "record_type": c.record_type,
            "id_field": c.id_field,
            "format": c.format,
            "convention": c.convention,
            "fields": [_field(f) for f in c.all_fields],
        }
        for c in sorted(contracts, key=lambda c: c.name)
    }


def fingerprint(description: dict) -> str:
    return hashlib.sha256(json.dumps(description, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def fingerprinted_sources(contracts: dict[str, Contract] | None = None) -> dict[str, str]:
    """Landing source → convention, for conventions whose contracts are fingerprinted."""
    convs = {k for k, v in load_conventions().items() if v.get("contracts_fingerprinted")}
    contracts = contracts if contracts is not None else load_contracts()
    return {c.source: c.convention for c in contracts.values() if c.convention in convs}


def current(source: str, contracts_dir: Path | None = None) -> tuple[str, dict]:
    """Fingerprint and description of a source's contracts as they are now (in `contracts_dir`)."""
    contracts = load_contracts(str(contracts_dir) if contracts_dir else None)
    desc = describe([c for c in contracts.values() if c.source == source])
    return fingerprint(desc), desc


def acknowledged(con: sqlite3.Connection, source: str) -> dict | None:
    r = con.execute(
        "SELECT * FROM contract_fingerprints WHERE source = ? ORDER BY id DESC LIMIT 1", (source,)
    ).fetchone()
    return dict(r) if r else None


def seed(con: sqlite3.Connection) -> None:
    """The fingerprint of each fingerprinted source at the registry's creation (the baseline)."""
    from tranquillite.app_core import store

    for source, convention in fingerprinted_sources().items():
        if acknowledged(con, source) is None:
            fp, desc = current(source)
            con.execute(
                "INSERT INTO contract_fingerprints (convention, source, fingerprint, description, "
                "acknowledged_by, acknowledged_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    convention,
                    source,
                    fp,
                    json.dumps(desc, ensure_ascii=False, sort_keys=True),
                    SEED_LOGIN,
                    store.iso(store.now_utc()),
                ),
            )


def changes(old: dict, new: dict) -> list[str]:
    """French list of what changed between two descriptions (fields added, removed, changed)."""
    out: list[str] = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(f"contrat ajouté: {name}")
            continue
        if name not in new:
            out.append(f"contrat retiré: {name}")
            continue
        of = {f["name"]: f for f in old[name]["fields"]}
        nf = {f["name"]: f for f in new[name]["fields"]}
        out += [f"{name}: champ ajouté « {n} »" for n in sorted(set(nf) - set(of))]
        out += [f"{name}: champ retiré « {n} »" for n in sorted(set(of) - set(nf))]
        for n in sorted(set(of) & set(nf)):
            diff = [k for k in _FIELD_KEYS if of[n].get(k) != nf[n].get(k)]
            if diff:
                out.append(f"{name}: champ « {n} » modifié ({', '.join(diff)})")
        for k in ("title", "record_type", "id_field", "format", "convention"):
            if old[name].get(k) != new[name].get(k):
                out.append(f"{name}: {k} modifié")
    return out


def status(con: sqlite3.Connection, source: str, contracts_dir: Path | None = None) -> dict:
    """{ok, fingerprint, acknowledged, changes}: ok when the contracts are those acknowledged."""
    fp, desc = current(source, contracts_dir)
    ack = acknowledged(con, source)
    if ack is None:
        return {"ok": False, "fingerprint": fp, "acknowledged": None, "changes": ["aucune empreinte reconnue"]}
    old = json.loads(ack["description"])
    return {
        "ok": ack["fingerprint"] == fp,
        "fingerprint": fp,
        "acknowledged": ack["fingerprint"],
        "changes": [] if ack["fingerprint"] == fp else changes(old, desc),
        "convention": ack["convention"],
    }


def acknowledge(
    con: sqlite3.Connection,
    source: str,
    *,
    login: str,
    profile: str,
    dpo_informed_on: date,
    impact_study_ref: str,
    contracts_dir: Path | None = None,
) -> str:
    """The DPO records that the DPOs were informed and the impact study's reference."""
    from tranquillite.app_core import store

    ref = (impact_study_ref or "").strip()
    if not ref:
        raise ValueError("La référence de l'étude d'impact est obligatoire.")
    if dpo_informed_on > date.today():
        raise ValueError("La date d'information des DPO ne peut pas être dans le futur.")
    st = status(con, source, contracts_dir)
    if st["ok"]:
        raise ValueError("Les contrats de cette source n'ont pas changé: rien à reconnaître.")
    fp, desc = current(source, contracts_dir)
    convention = fingerprinted_sources(load_contracts(str(contracts_dir) if contracts_dir else None)).get(
        source, st.get("convention")
    )
    with store.transaction(con):
        con.execute(
            "INSERT INTO contract_fingerprints (convention, source, fingerprint, description, acknowledged_by, "
            "acknowledged_at, dpo_informed_on, impact_study_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                convention,
                source,
                fp,
                json.dumps(desc, ensure_ascii=False, sort_keys=True),
                login,
                store.iso(store.now_utc()),
                dpo_informed_on.isoformat(),
                ref,
            ),
        )
    store.log_access(
        con,
        login=login,
        profile=profile,
        page="nature_donnees",
        action="changement_nature_reconnu",
        detail=json.dumps(
            {
                "source": source,
                "empreinte": fp[:16],
                "etude_impact": ref,
                "dpo_informes_le": dpo_informed_on.isoformat(),
                "changements": st["changes"],
            },
            ensure_ascii=False,
        ),
    )
    return fp


def gate_status(source: str, contracts_dir: Path | None = None) -> dict:
    """For the blocking check: the source's status (a fresh home without a store passes: nothing
    has been acknowledged against, the baseline is the contracts in force)."""
    from tranquillite.app_core import store

    if not store.exists():
        return {"ok": True, "fingerprint": current(source, contracts_dir)[0], "acknowledged": None, "changes": []}
    with store.connect() as con:
        from tranquillite.conventions import schema

        schema.install(con)
        return status(con, source, contracts_dir)
