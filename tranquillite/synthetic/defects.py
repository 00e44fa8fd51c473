"""Known defects injected into the landing records, recorded one row per defect.

Each defective record carries exactly one defect and is otherwise valid. Kinds:

* `date_invalide` — an unparsable value in a required datetime field;
* `fin_avant_debut` — the end is before the start;
* `hors_zone` — coordinates (CSV) or geometry (Cortège) far outside Marseille;
* `champ_obligatoire_manquant` — a required field (never the id) empty or absent;
* `valeur_hors_enumeration` — a value outside the contract's enumeration;
* `identifiant_duplique` — a second record with the id of another record of the same file and a
  different content (the first occurrence is the valid one);
* `donnee_personnelle` — personal data in a free-text field (`detail`: telephone, email, plaque,
  nom_de_personne, nir, iban, date_de_naissance — the kinds of `tranquillite.pii`, each in varied
  forms: `texts.pii`);
* `doublon_exact` — the same record written twice, identical (an export repeated).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from tranquillite.contracts import Contract
from tranquillite.synthetic import config as C
from tranquillite.synthetic import texts as T
from tranquillite.synthetic.prefecture import Entry, iso

KINDS = (
    "date_invalide",
    "fin_avant_debut",
    "hors_zone",
    "champ_obligatoire_manquant",
    "valeur_hors_enumeration",
    "identifiant_duplique",
    "donnee_personnelle",
    "doublon_exact",
)

DEFECT_SCHEMA = {
    "source": pl.Utf8,
    "contract": pl.Utf8,
    "file": pl.Utf8,
    "record_id": pl.Utf8,
    "kind": pl.Utf8,
    "field": pl.Utf8,
    "detail": pl.Utf8,
}

INVALID_DATES_CSV = ["31/02/{y} 25:61", "hier soir", "{y}-13-40T99:00", "32/13/{y} 10:00", "00/00/0000 00:00"]
INVALID_DATES_ISO = ["{y}-13-40T99:00:00+01:00", "hier soir", "31/02/{y} 25:61", "{y}-02-30T25:61:00"]
#: (label, lon, lat) of the out-of-area coordinates; "inversees" swaps lon and lat of the true point
OUT_OF_AREA = [
    ("Aix-en-Provence", 5.447427, 43.529746),
    ("mer au large", 5.200000, 43.200000),
    ("inversees", None, None),
    ("Toulon", 5.928000, 43.124200),
]
#: translations applied to a Cortège geometry to move it out of Marseille
OUT_OF_AREA_SHIFT = [("Aix-en-Provence", 0.070, 0.235), ("Toulon", 0.548, -0.171)]

REQUIRED_TO_BLANK = {
    "interventions": ["categorie", "adresse", "unite", "suite"],
    "alertes_videoprotection": ["camera", "categorie", "adresse"],
    "signalements": ["categorie", "canal", "adresse"],
    "evenements_publics": ["intitule", "type_evenement", "lieu", "adresse", "frequentation_attendue"],
    "manifestation_deambulatoire": ["objet", "adresse_depart", "adresse_arrivee", "statut_organisateur"],
    "manifestation_statique": ["objet", "adresse", "statut_organisateur"],
    "operation_programmee": ["objet", "adresses", "theme"],
    "visite_officielle": ["objet", "adresses"],
}
BAD_ENUM = {
    ("interventions", "categorie"): ["Tapage nocturne!!", "Rixe", "Nuisances diverses"],
    ("interventions", "unite"): ["Brigade de soirée", "Patrouille pédestre"],
    ("interventions", "suite"): ["Classé", "En attente"],
    ("alertes_videoprotection", "categorie"): ["Intrusion", "Bagarre!!", "Nuisance sonore"],
    ("signalements", "categorie"): ["Nid de poule", "Animaux errants", "Bruit!!"],
    ("signalements", "canal"): ["Réseaux sociaux", "E-mail"],
    ("evenements_publics", "type_evenement"): ["Brocante", "Spectacle", "Vide-grenier"],
    ("manifestation_deambulatoire", "statut_organisateur"): ["Collectif citoyen", "Coordination", "Intersyndicale"],
    ("manifestation_statique", "statut_organisateur"): ["Collectif citoyen", "Coordination", "Intersyndicale"],
    ("operation_programmee", "theme"): ["Contrôle routier", "Vidéoverbalisation", "Opération anti-squat"],
}
START_FIELD = {
    "interventions": "debut",
    "alertes_videoprotection": "date_heure",
    "signalements": "date_heure",
    "evenements_publics": "debut",
}
CSV_DATE_FMT = "%d/%m/%Y %H:%M"


def n_defects(rows: int, rate: float) -> int:
    """How many records get a defect of one kind: ~rate of rows, at least 1 when rows >= 50."""
    n = int(round(rate * rows))
    return max(1, n) if rows >= C.DEFECT_MIN_ROWS else n


def applicable_kinds(contract: Contract) -> list[str]:
    names = {f.name for f in contract.fields}
    kinds = ["date_invalide"]
    if any(f.after for f in contract.fields):
        kinds.append("fin_avant_debut")
    if {"longitude", "latitude"} <= names or any(f.type == "geometry" for f in contract.fields):
        kinds.append("hors_zone")
    kinds += ["champ_obligatoire_manquant"]
    if any(f.type == "enum" for f in contract.fields):
        kinds.append("valeur_hors_enumeration")
    kinds.append("identifiant_duplique")
    if any(f.free_text_scope == "texte" for f in contract.fields):
        kinds.append("donnee_personnelle")
    kinds.append("doublon_exact")
    return kinds


# --------------------------------------------------------------------------- CSV sources
def inject_csv(
    df: pl.DataFrame, contract: Contract, rng: np.random.Generator, file_of_day, variant: int = 0
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Inject the defects of a CSV source; returns the new records (duplicates appended) and the
    defect rows. `file_of_day(day)` gives the file path (relative to home) of a partition day;
    `variant` rotates the defect values so that small runs still show every variant across sources."""
    source = contract.source
    n = df.height
    kinds = applicable_kinds(contract)
    plan = {k: n_defects(n, C.DUPLICATE_RATE if k == "doublon_exact" else C.DEFECT_RATE) for k in kinds}
    total = sum(plan.values())
    if total == 0 or n == 0:
        return df, []
    perm = rng.permutation(n)[: min(total, n)]
    cols = {c: np.array(df[c].to_list(), dtype=object) for c in df.columns}
    ids, days = cols["id"], cols["_day"]
    defects: list[dict[str, Any]] = []
    extra_rows: list[dict[str, Any]] = []
    free = next((f.name for f in contract.fields if f.free_text_scope == "texte"), None)
    start_f = START_FIELD[source]
    cursor = 0
    for kind in kinds:
        rows = perm[cursor : cursor + plan[kind]]
        cursor += plan[kind]
        for j0, r in enumerate(rows.tolist()):
            j = j0 + variant
            field, detail = None, None
            if kind == "date_invalide":
                year = str(cols[start_f][r])[6:10]
                val = INVALID_DATES_CSV[j % len(INVALID_DATES_CSV)].format(y=year)
                cols[start_f][r] = val
                field, detail = start_f, val
            elif kind == "fin_avant_debut":
                start = datetime.strptime(cols[start_f][r], CSV_DATE_FMT)
                back = timedelta(minutes=int(rng.integers(10, 180)))
                cols["fin"][r] = (start - back).strftime(CSV_DATE_FMT)
                field, detail = "fin", f"fin {cols['fin'][r]} avant début {cols[start_f][r]}"
            elif kind == "hors_zone":
                label, lon, lat = OUT_OF_AREA[j % len(OUT_OF_AREA)]
                if label == "inversees":
                    lon0 = cols["longitude"][r]
                    lat0 = cols["latitude"][r]
                    if lon0 is None or lat0 is None:
                        label, lon, lat = OUT_OF_AREA[0]
                    else:
                        lon, lat = lat0, lon0
                cols["longitude"][r], cols["latitude"][r] = lon, lat
                field, detail = "longitude/latitude", f"{label} ({lon:.6f}, {lat:.6f})"
            elif kind == "champ_obligatoire_manquant":
                options = REQUIRED_TO_BLANK[source]
                field = options[j % len(options)]
                if (
                    field == "adresse"
                    and "longitude" in cols
                    and (cols["longitude"][r] is None or cols["latitude"][r] is None)
                ):
                    # without coordinates nor address the record could not be located at all:
                    # that would be a second defect, so blank another required field
                    field = options[(j + 1) % len(options)]
                cols[field][r] = None
                detail = "valeur vide"
            elif kind == "valeur_hors_enumeration":
                keys = [k for k in BAD_ENUM if k[0] == source]
                key = keys[j % len(keys)]
                field = key[1]
                val = BAD_ENUM[key][(j // len(keys)) % len(BAD_ENUM[key])]
                cols[field][r] = val
                detail = val
            elif kind == "donnee_personnelle":
                sub = T.PII_KINDS[j % len(T.PII_KINDS)]
                cols[free][r] = T.with_pii(cols[free][r], sub, rng)
                field, detail = free, sub
            elif kind in ("identifiant_duplique", "doublon_exact"):
                row = {c: cols[c][r] for c in cols}
                if kind == "identifiant_duplique":
                    donor = _donor(n, set(perm.tolist()), rng)
                    keep = {"id", "_day", "_t", "_dup", "_row", start_f, "fin", "debut"}
                    for c in cols:
                        if c not in keep:
                            row[c] = cols[c][donor]
                    field, detail = "id", "second enregistrement de même identifiant, contenu différent"
                else:
                    detail = "enregistrement répété à l'identique"
                row["_dup"] = 1
                extra_rows.append(row)
            defects.append(
                {
                    "source": source,
                    "contract": contract.name,
                    "file": file_of_day(days[r]),
                    "record_id": str(ids[r]),
                    "kind": kind,
                    "field": field,
                    "detail": detail,
                }
            )
    out = pl.DataFrame({c: pl.Series(c, v.tolist(), dtype=df.schema[c], strict=False) for c, v in cols.items()})
    if extra_rows:
        extra = pl.DataFrame(
            {c: pl.Series(c, [row[c] for row in extra_rows], dtype=df.schema[c], strict=False) for c in df.columns}
        )
        out = pl.concat([out, extra])
    out = (
        out.with_columns(pl.col("longitude").fill_nan(None), pl.col("latitude").fill_nan(None))
        if "longitude" in out.columns
        else out
    )
    return out, defects


def _donor(n: int, taken: set[int], rng: np.random.Generator) -> int:
    """A row without any defect, whose content is copied under another record's id."""
    for _ in range(1000):
        d = int(rng.integers(0, n))
        if d not in taken:
            return d
    raise ValueError("no defect-free row to copy")


# --------------------------------------------------------------------------- Cortège entries
def inject_cortege(
    entries: list[Entry], contracts: dict[str, Contract], rng: np.random.Generator, file_of_entry, variant: int = 0
) -> tuple[list[tuple[Entry, dict[str, Any]]], list[dict[str, Any]]]:
    """Defects on the Préfecture entries. Returns [(entry, json dict)] in file order (duplicates
    right after their original) and the defect rows."""
    n = len(entries)
    docs = [e.as_json() for e in entries]
    kinds = list(KINDS)
    plan = {k: n_defects(n, C.DUPLICATE_RATE if k == "doublon_exact" else C.DEFECT_RATE) for k in kinds}
    perm = [int(i) for i in rng.permutation(n)]
    used: set[int] = set()
    defects: list[dict[str, Any]] = []
    extra: dict[int, dict[str, Any]] = {}

    def take(count: int, ok) -> list[int]:
        out = []
        for i in perm:
            if len(out) == count:
                break
            if i not in used and ok(i):
                used.add(i)
                out.append(i)
        return out

    def has_geom(i: int) -> bool:
        return "trace_parcours" in docs[i] or "emprise" in docs[i]

    def has_enum(i: int) -> bool:
        return entries[i].record_type in (
            "manifestation_deambulatoire",
            "manifestation_statique",
            "operation_programmee",
        )

    for kind in kinds:
        ok = has_geom if kind == "hors_zone" else has_enum if kind == "valeur_hors_enumeration" else (lambda i: True)
        for j0, i in enumerate(take(plan[kind], ok)):
            j = j0 + variant
            e, doc = entries[i], docs[i]
            year = e.start.year
            field, detail = None, None
            if kind == "date_invalide":
                val = INVALID_DATES_ISO[j % len(INVALID_DATES_ISO)].format(y=year)
                doc["date_debut"] = val
                field, detail = "date_debut", val
            elif kind == "fin_avant_debut":
                doc["date_fin"] = iso(e.start - timedelta(minutes=int(rng.integers(30, 180))))
                field, detail = "date_fin", f"fin {doc['date_fin']} avant début {doc['date_debut']}"
            elif kind == "hors_zone":
                label, dx, dy = OUT_OF_AREA_SHIFT[j % len(OUT_OF_AREA_SHIFT)]
                field = "trace_parcours" if "trace_parcours" in doc else "emprise"
                doc[field] = _shift(doc[field], dx, dy)
                detail = f"géométrie déplacée vers {label}"
            elif kind == "champ_obligatoire_manquant":
                options = REQUIRED_TO_BLANK[e.record_type]
                field = options[j % len(options)]
                geom_of = {
                    "adresse": "emprise",
                    "adresse_depart": "trace_parcours",
                    "adresse_arrivee": "trace_parcours",
                }
                if field in geom_of and geom_of[field] not in doc:
                    field = "objet"  # keep the entry locatable: only one defect per entry
                mode = j % 3
                if mode == 0:
                    del doc[field]
                    detail = "champ absent"
                elif mode == 1:
                    doc[field] = None
                    detail = "valeur nulle"
                else:
                    doc[field] = [] if isinstance(doc[field], list) else ""
                    detail = "valeur vide"
            elif kind == "valeur_hors_enumeration":
                field = "theme" if e.record_type == "operation_programmee" else "statut_organisateur"
                vals = BAD_ENUM[(e.record_type, field)]
                doc[field] = vals[j % len(vals)]
                detail = doc[field]
            elif kind == "donnee_personnelle":
                sub = T.PII_KINDS[j % len(T.PII_KINDS)]
                field = "objet" if j % 2 == 0 or not doc.get("description_observations") else "description_observations"
                doc[field] = T.with_pii(doc[field], sub, rng)
                detail = sub
            elif kind == "identifiant_duplique":
                dup = copy.deepcopy(doc)
                dup["objet"] = _other_objet(e, doc["objet"], rng)
                dup["description_observations"] = "Nouvelle saisie sur la même entrée."
                extra[i] = dup
                field, detail = "id", "seconde entrée de même identifiant, contenu différent"
            elif kind == "doublon_exact":
                extra[i] = copy.deepcopy(doc)
                detail = "entrée répétée à l'identique"
            defects.append(
                {
                    "source": "cortege",
                    "contract": e.record_type,
                    "file": file_of_entry(e),
                    "record_id": e.id,
                    "kind": kind,
                    "field": field,
                    "detail": detail,
                }
            )
    out: list[tuple[Entry, dict[str, Any]]] = []
    for i, (e, doc) in enumerate(zip(entries, docs)):
        out.append((e, doc))
        if i in extra:
            out.append((e, extra[i]))
    return out, defects


def _shift(geom: dict, dx: float, dy: float) -> dict:
    def mv(c):
        if isinstance(c[0], (int, float)):
            return [round(c[0] + dx, 6), round(c[1] + dy, 6)]
        return [mv(x) for x in c]

    return {"type": geom["type"], "coordinates": mv(geom["coordinates"])}


def _other_objet(e: Entry, current: str, rng) -> str:
    pool = {
        "manifestation_deambulatoire": [o for v in T.DEMO_OBJETS.values() for o in v],
        "manifestation_statique": [o for v in T.STATIC_OBJETS.values() for o in v],
        "operation_programmee": T.OPERATION_OBJETS.get(e.fields.get("theme"), [])
        or [o for v in T.OPERATION_OBJETS.values() for o in v],
        "visite_officielle": T.VISIT_OBJETS,
    }[e.record_type]
    pool = [o for o in pool if o != current] or [current + " (modifiée)"]
    return pool[int(rng.integers(len(pool)))]


def defects_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema=DEFECT_SCHEMA) if rows else pl.DataFrame(schema=DEFECT_SCHEMA)
    return df.sort(["source", "file", "record_id", "kind"])
