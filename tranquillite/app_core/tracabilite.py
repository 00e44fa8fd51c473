"""The auditors' *Traçabilité* report: per convention, where its data are and who read them (issue 11).

Everything is computed from the data, never from a hand-written list:

* sources and contracts: the data contracts (`data_contracts/*.yaml`) naming the convention;
* tables and partitions, models, landing files: `governance.convention_lineage`, published by the
  pipeline (`tranquillite/assets/lineage_table.py`) and read through the gateway — so a profile
  gets only the lineage rows of conventions it sees;
* reads and exports: the access log's `reads` field (per line: the tables read, the conventions
  of the rows returned, the row count) and, for exports logged before that field, the
  conventions of the export's `detail`;
* open habilitations: the active accounts whose profile holds the convention (`profile_conventions`),
  and the Préfecture list requests still being processed for its organisations.

Who may receive which report (`report_conventions`): a profile granted the page, for the
conventions its scope holds; a profile of a partner organisation (the Préfecture's reader) only
for the conventions that name its organisation (`organisations:` in `conventions.yaml`, C7).
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass

import polars as pl

from tranquillite.app_core import queries
from tranquillite.app_core.rights import PAGES, Principal
from tranquillite.contracts import load_contracts, load_conventions

PAGE = "tracabilite"
LINEAGE = "governance.convention_lineage"
LAYER_LABELS = {
    "raw": "Données brutes",
    "clean": "Données propres",
    "features": "Caractéristiques des modèles",
    "models": "Modèles et prévisions",
    "indicators": "Indicateurs",
    "governance": "Gouvernance",
    "quarantine": "Quarantaine",
}
TABLE_LABELS = {
    "clean.events": "Événements unifiés",
    "features.cell_slot": "Caractéristiques par cellule et créneau",
    "features.planned_exposure": "Exposition aux événements prévus",
    "features.observed_counts": "Faits observés",
    "features.study_grid": "Grille d'étude",
    "models.forecast": "Prévisions",
    "models.forecast_history": "Historique des prévisions",
    "models.backtest": "Rétro-tests",
    "models.backtest_scores": "Scores des rétro-tests",
    "models.backtest_evenements": "Rétro-tests autour des événements",
    "models.model_registry": "Registre des modèles",
    "indicators.tension": "Zones de tension",
    "indicators.alerts": "Alertes",
    "indicators.values": "Valeurs des indicateurs",
    "indicators.values_public": "Indicateurs publics",
    "indicators.planned_footprints": "Emprises des événements prévus",
    "indicators.hotspots": "Points chauds",
    "indicators.emerging_hotspots": "Points chauds émergents",
    "indicators.grid": "Grille des indicateurs",
    "indicators.catalogue": "Catalogue des indicateurs",
    "governance.data_quality": "Bilan qualité",
    "governance.quarantine_reasons": "Raisons de quarantaine",
    "governance.landing_files": "Fichiers déposés",
    "governance.ingestion_ledger": "Registre d'ingestion",
    "governance.quarantine": "Quarantaine",
    "governance.convention_alerts": "Alertes des conventions",
    "governance.convention_lineage": "Traçabilité par convention",
}
ATTRIBUTION_LABELS = {
    "conventions": "conventions de chaque ligne",
    "convention": "convention de l'enregistrement",
    "source": "source des lignes",
    "table": "table entière (une seule convention)",
}
VARIANT_LABELS = {"complete": "toutes conventions", "internal": "données de la Ville seules"}
USAGE_LABELS = {"backtest": "rétro-test", "forecast": "prévision", "prevision": "prévision"}
PENDING_REQUESTS = ("demandee", "validee_prefecture")
# the columns of governance.convention_lineage this module reads (an empty report before it is published)
LINEAGE_SCHEMA = {
    "lineage_kind": pl.Utf8,
    "convention": pl.Utf8,
    "table_name": pl.Utf8,
    "tagged": pl.Boolean,
    "partition": pl.Utf8,
    "rows": pl.Int64,
    "total_rows": pl.Int64,
    "n_files": pl.Int64,
    "bytes": pl.Int64,
    "first_date": pl.Utf8,
    "last_date": pl.Utf8,
    "attribution": pl.Utf8,
    "model": pl.Utf8,
    "model_group": pl.Utf8,
    "model_version": pl.Utf8,
    "usage": pl.Utf8,
    "variant": pl.Utf8,
    "trained_at": pl.Utf8,
    "train_start": pl.Utf8,
    "train_end": pl.Utf8,
    "landing_source": pl.Utf8,
    "records": pl.Int64,
}


def table_label(table: str | None) -> str:
    """« Événements unifiés (données propres) » for `clean.events`."""
    if not table:
        return ""
    layer, _, name = table.partition(".")
    base = TABLE_LABELS.get(table, name.replace("_", " ").capitalize())
    return f"{base} ({LAYER_LABELS.get(layer, layer)})"


def page_label(page: str) -> str:
    return PAGES.get(page, {}).get("title") or {"connexion": "Connexion", "console": "Ligne de commande"}.get(
        page, page
    )


def convention_title(code: str) -> str:
    return (load_conventions().get(code) or {}).get("title", code)


def report_conventions(principal: Principal) -> list[str]:
    """The conventions whose report this principal may receive (see the module docstring)."""
    if not principal.may_open(PAGE):
        return []
    registry = load_conventions()
    held = set(principal.scope.conventions)
    out = [c for c in sorted(registry) if c in held]
    if principal.organisation_kind != "ville":  # a partner receives its own convention's report only (C7)
        out = [c for c in out if principal.organisation in (registry[c].get("organisations") or [])]
    return out


@dataclass
class Report:
    convention: str
    title: str
    contracts: pl.DataFrame
    tables: pl.DataFrame
    partitions: pl.DataFrame
    models: pl.DataFrame
    landing: pl.DataFrame
    reads: pl.DataFrame
    habilitations: pl.DataFrame
    requests: pl.DataFrame
    lineage_available: bool = True


def _contracts(convention: str) -> pl.DataFrame:
    rows = [
        {"Contrat": c.title, "Code du contrat": c.name, "Source (dépôt)": c.source}
        for c in sorted(load_contracts().values(), key=lambda c: c.name)
        if c.convention == convention
    ]
    return pl.DataFrame(rows, schema={"Contrat": pl.Utf8, "Code du contrat": pl.Utf8, "Source (dépôt)": pl.Utf8})


def _lineage(cat: queries.Catalog, principal: Principal, convention: str) -> pl.DataFrame | None:
    try:
        return queries.scoped_query(
            cat,
            principal.scope,
            LINEAGE,
            select="*",
            where="convention = ?",
            params=[convention],
            order_by="lineage_kind, table_name, partition",
        )
    except queries.NotAvailable:
        return None


def _tables(lin: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    t = lin.filter(pl.col("lineage_kind") == "table")
    per = (
        t.group_by("table_name")
        .agg(
            pl.col("rows").sum(),
            pl.col("total_rows").first(),
            pl.col("bytes").sum(),
            pl.col("n_files").sum(),
            pl.col("partition").drop_nulls().n_unique().alias("n_partitions"),
            pl.col("first_date").min(),
            pl.col("last_date").max(),
            pl.col("tagged").first(),
            pl.col("attribution").first(),
        )
        .sort("table_name")
    )
    tables = per.select(
        pl.col("table_name").map_elements(table_label, return_dtype=pl.Utf8).alias("Table"),
        pl.col("table_name").alias("Nom technique"),
        pl.col("rows").alias("Lignes de la convention"),
        pl.col("total_rows").alias("Lignes de la table"),
        pl.col("n_partitions").alias("Partitions"),
        pl.col("n_files").alias("Fichiers"),
        pl.col("bytes").alias("Octets"),
        pl.col("first_date").alias("Première date"),
        pl.col("last_date").alias("Dernière date"),
        pl.col("attribution")
        .replace_strict(ATTRIBUTION_LABELS, default=pl.col("attribution"), return_dtype=pl.Utf8)
        .alias("Attribution"),
    )
    parts = (
        t.filter(pl.col("partition").is_not_null())
        .sort("table_name", "partition")
        .select(
            pl.col("table_name").map_elements(table_label, return_dtype=pl.Utf8).alias("Table"),
            pl.col("table_name").alias("Nom technique"),
            pl.col("partition").alias("Partition"),
            pl.col("rows").alias("Lignes de la convention"),
            pl.col("bytes").alias("Octets"),
            pl.col("first_date").alias("Première date"),
            pl.col("last_date").alias("Dernière date"),
        )
    )
    return tables, parts


def _models(lin: pl.DataFrame) -> pl.DataFrame:
    m = lin.filter(pl.col("lineage_kind") == "modele").sort("trained_at", "model", nulls_last=True)
    return m.select(
        pl.col("model").alias("Modèle"),
        pl.col("model_group").alias("Groupe de faits"),
        pl.col("model_version").alias("Version"),
        pl.col("usage").replace_strict(USAGE_LABELS, default=pl.col("usage"), return_dtype=pl.Utf8).alias("Usage"),
        pl.col("variant").replace_strict(VARIANT_LABELS, default=pl.col("variant"), return_dtype=pl.Utf8).alias("Jeu"),
        pl.col("trained_at").alias("Appris le"),
        pl.col("train_start").alias("Apprentissage du"),
        pl.col("train_end").alias("Apprentissage au"),
    )


def _landing(lin: pl.DataFrame) -> pl.DataFrame:
    f = lin.filter(pl.col("lineage_kind") == "fichiers")
    return (
        f.group_by("landing_source")
        .agg(
            pl.col("n_files").sum(),
            pl.col("bytes").sum(),
            pl.col("records").sum(),
            pl.col("partition").n_unique().alias("days"),
            pl.col("partition").min().alias("a"),
            pl.col("partition").max().alias("b"),
            pl.col("first_date").min(),
            pl.col("last_date").max(),
        )
        .sort("landing_source")
        .select(
            pl.col("landing_source").alias("Source (dépôt)"),
            pl.col("n_files").alias("Fichiers"),
            pl.col("bytes").alias("Octets"),
            pl.col("records").alias("Enregistrements"),
            pl.col("days").alias("Jours d'export"),
            pl.col("a").alias("Premier jour"),
            pl.col("b").alias("Dernier jour"),
            pl.col("first_date").alias("Première réception"),
            pl.col("last_date").alias("Dernière réception"),
        )
    )


READS_SQL = """
SELECT a.id, a.at, a.login, a.profile, a.page, a.action, a.export,
       json_extract(j.value, '$.table') AS tbl, json_extract(j.value, '$.rows') AS n
FROM access_log a, json_each(a.reads) j
WHERE a.reads IS NOT NULL AND json_valid(a.reads)
  AND EXISTS (SELECT 1 FROM json_each(j.value, '$.conventions') k WHERE k.value = ?)
ORDER BY a.id
"""
# exports logged before the `reads` field: their detail names the conventions of the rows exported
OLD_EXPORTS_SQL = """
SELECT id, at, login, profile, page, action, export, NULL AS tbl,
       coalesce(json_extract(detail, '$.lignes'), json_extract(detail, '$.conventions.' || ?)) AS n
FROM access_log
WHERE reads IS NULL AND (export = 1 OR action = 'export_refuse') AND json_valid(detail)
  AND json_type(detail, '$.conventions.' || ?) IS NOT NULL
ORDER BY id
"""
# the same two reads on PostgreSQL (its JSON functions; `tq_jsonb` is json_valid's counterpart: NULL
# for a text that is not JSON, from the store's migrations)
READS_SQL_PG = """
SELECT a.id, a.at, a.login, a.profile, a.page, a.action, a.export,
       j.value ->> 'table' AS tbl, (j.value ->> 'rows')::bigint AS n
FROM access_log a,
     jsonb_array_elements(CASE WHEN jsonb_typeof(tq_jsonb(a.reads)) = 'array' THEN tq_jsonb(a.reads)
                               ELSE '[]'::jsonb END) j
WHERE a.reads IS NOT NULL
  AND jsonb_typeof(j.value -> 'conventions') = 'array'
  AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(j.value -> 'conventions') k WHERE k = %s)
ORDER BY a.id
"""
OLD_EXPORTS_SQL_PG = """
SELECT id, at, login, profile, page, action, export, NULL AS tbl,
       coalesce(tq_jsonb(detail) ->> 'lignes', tq_jsonb(detail) -> 'conventions' ->> %s)::bigint AS n
FROM access_log
WHERE reads IS NULL AND (export = 1 OR action = 'export_refuse')
  AND jsonb_typeof(tq_jsonb(detail)) = 'object' AND tq_jsonb(detail) -> 'conventions' -> %s IS NOT NULL
ORDER BY id
"""


def _reads_rows(con, convention: str) -> list[dict]:
    """The lines that read the convention's rows (JSON in SQL: one statement per dialect, here only)."""
    if con.dialect == "postgresql":
        return [dict(r) for r in con.execute_native(READS_SQL_PG, (convention,))] + [
            dict(r) for r in con.execute_native(OLD_EXPORTS_SQL_PG, (convention, convention))
        ]
    return [dict(r) for r in con.execute(READS_SQL, (convention,))] + [
        dict(r) for r in con.execute(OLD_EXPORTS_SQL, (convention, convention))
    ]


def reads_of(con: sqlite3.Connection, convention: str) -> pl.DataFrame:
    """Every access-log line that read rows carrying the convention: who, when, page, tables, rows."""
    rows = _reads_rows(con, convention)
    schema = {
        "id": pl.Int64,
        "at": pl.Utf8,
        "login": pl.Utf8,
        "profile": pl.Utf8,
        "page": pl.Utf8,
        "action": pl.Utf8,
        "export": pl.Int64,
        "tbl": pl.Utf8,
        "n": pl.Int64,
    }
    df = pl.DataFrame(rows, schema=schema)
    labels = {r[0]: r[1] for r in con.execute("SELECT code, label FROM profiles")}
    return (
        df.group_by("id")
        .agg(
            pl.col("at").first(),
            pl.col("login").first(),
            pl.col("profile").first(),
            pl.col("page").first(),
            pl.col("action").first(),
            pl.col("export").first(),
            pl.col("tbl").drop_nulls().sort(),
            pl.col("n").sum(),
        )
        .sort("id")
        .select(
            pl.col("id").alias("N° du journal"),
            pl.col("at").alias("Horodatage"),
            pl.col("login").fill_null("(public)").alias("Utilisateur"),
            pl.col("profile").replace_strict(labels, default=pl.col("profile"), return_dtype=pl.Utf8).alias("Profil"),
            pl.col("page").map_elements(page_label, return_dtype=pl.Utf8).alias("Page"),
            pl.col("action").alias("Action"),
            (pl.col("export") == 1).alias("Export"),
            pl.col("tbl")
            .list.eval(pl.element().map_elements(table_label, return_dtype=pl.Utf8))
            .list.join(" ; ")
            .alias("Tables lues"),
            pl.col("tbl").list.join(", ").alias("Noms techniques"),
            pl.col("n").alias("Lignes"),
        )
    )


def habilitations_of(con: sqlite3.Connection, convention: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Active accounts whose profile holds the convention; Préfecture list requests still open."""
    users = [
        dict(r)
        for r in con.execute(
            "SELECT u.login, u.display_name, p.label AS profile, o.label AS organisation, n.label AS nature "
            "FROM users u JOIN profiles p ON p.code = u.profile JOIN organisations o ON o.code = u.organisation "
            "LEFT JOIN activity_natures n ON n.code = u.activity_nature "
            "WHERE u.active = 1 AND EXISTS (SELECT 1 FROM profile_conventions c WHERE c.profile = u.profile "
            "AND c.convention = ?) ORDER BY u.login",
            (convention,),
        )
    ]
    hab = pl.DataFrame(
        users,
        schema={
            "login": pl.Utf8,
            "display_name": pl.Utf8,
            "profile": pl.Utf8,
            "organisation": pl.Utf8,
            "nature": pl.Utf8,
        },
    ).rename(
        {
            "login": "Identifiant",
            "display_name": "Nom",
            "profile": "Profil",
            "organisation": "Organisation",
            "nature": "Nature d'activité",
        }
    )
    orgs = (load_conventions().get(convention) or {}).get("organisations") or []
    reqs = []
    if orgs:
        marks = ",".join("?" * len(orgs))
        reqs = [
            dict(r)
            for r in con.execute(
                "SELECT r.id, r.kind, r.login, r.requested_at, e.status FROM habilitation_requests r "
                "JOIN habilitation_request_events e ON e.request_id = r.id AND e.id = (SELECT max(id) FROM "
                f"habilitation_request_events WHERE request_id = r.id) WHERE r.organisation IN ({marks}) ORDER BY r.id",
                tuple(orgs),
            )
        ]
    from tranquillite.app_core.habilitations import STATUS_LABELS

    req = pl.DataFrame(
        reqs, schema={"id": pl.Int64, "kind": pl.Utf8, "login": pl.Utf8, "requested_at": pl.Utf8, "status": pl.Utf8}
    ).filter(pl.col("status").is_in(PENDING_REQUESTS))
    req = req.with_columns(
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status"), return_dtype=pl.Utf8)
    ).rename({"id": "N°", "kind": "Demande", "login": "Identifiant", "requested_at": "Demandée le", "status": "État"})
    return hab, req


def report(cat: queries.Catalog, con: sqlite3.Connection, principal: Principal, convention: str) -> Report:
    """The report of one convention for this principal (refused if it may not receive it)."""
    if convention not in report_conventions(principal):
        raise queries.Forbidden("rapport de traçabilité non ouvert à votre profil pour cette convention")
    lin = _lineage(cat, principal, convention)
    available = lin is not None
    if lin is None:  # not materialised yet: every other section still answers
        lin = pl.DataFrame(schema=LINEAGE_SCHEMA)
    tables, parts = _tables(lin)
    hab, req = habilitations_of(con, convention)
    return Report(
        convention=convention,
        title=convention_title(convention),
        contracts=_contracts(convention),
        tables=tables,
        partitions=parts,
        models=_models(lin),
        landing=_landing(lin),
        reads=reads_of(con, convention),
        habilitations=hab,
        requests=req,
        lineage_available=available,
    )


SECTIONS = (
    ("contracts", "Sources et contrats"),
    ("tables", "Tables"),
    ("partitions", "Partitions"),
    ("models", "Modèles appris sur ses données"),
    ("landing", "Fichiers reçus"),
    ("reads", "Lectures et exports"),
    ("habilitations", "Habilitations ouvertes"),
    ("requests", "Demandes d'habilitation en cours"),
)


def report_json(r: Report) -> str:
    doc = {
        "convention": r.convention,
        "intitule": r.title,
        **{title: getattr(r, key).to_dicts() for key, title in SECTIONS},
    }
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str)


def report_csv(r: Report) -> str:
    """One CSV: a « Rubrique » column, then the columns of each section (empty where not relevant)."""
    frames = [
        getattr(r, key).with_columns(pl.all().cast(pl.Utf8)).with_columns(pl.lit(title).alias("Rubrique"))
        for key, title in SECTIONS
        if getattr(r, key).height
    ]
    if not frames:
        return "Rubrique\n"
    df = pl.concat(frames, how="diagonal")
    df = queries.neutralise_formulas(df.select("Rubrique", *[c for c in df.columns if c != "Rubrique"]))
    buf = io.StringIO()
    df.write_csv(buf)
    return buf.getvalue()
