"""Metadata shared by every materialisation: row counts, schemas, timings, conventions.

Dagster's storage (event log, run history) is readable by whoever runs the UI, so the metadata
never hold rows of the data: counts and timings only, the row count per convention, and the
column schema — types in readable names (`datetime`, `list<string>`) and columns described in
French (the contracts' labels for their fields, the platform's glossary for derived columns).
"""

from __future__ import annotations

import re
from collections import Counter

import dagster as dg
import polars as pl

from tranquillite.contracts import Contract, load_contracts

_SIMPLE = {
    pl.Utf8: "string",
    pl.Categorical: "string",
    pl.Boolean: "bool",
    pl.Date: "date",
    pl.Time: "time",
    pl.Int8: "int8",
    pl.Int16: "int16",
    pl.Int32: "int32",
    pl.Int64: "int64",
    pl.UInt8: "uint8",
    pl.UInt16: "uint16",
    pl.UInt32: "uint32",
    pl.UInt64: "uint64",
    pl.Float32: "float32",
    pl.Float64: "float64",
    pl.Binary: "binary",
    pl.Null: "null",
    pl.Object: "object",
}

# the platform's own columns (the contracts' fields are described by their labels)
GLOSSARY = {
    # the feedback-loop audit (models/audit_boucle, models/audit_boucle_zones; issue 13)
    "stream": "Faits sur lesquels la prévision auditée est apprise (signalés, interventions…)",
    "flagged_cells": "Cellules désignées (part de la surface de l'audit)",
    "jaccard_vs_signale": "Recouvrement (Jaccard) avec la zone désignée par la prévision apprise sur les faits signalés",
    "jaccard_vs_police": "Recouvrement (Jaccard) avec la zone désignée par la prévision apprise sur les interventions",
    "dissimilarity_vs_reports": "Indice de dissimilarité: zone désignée par arrondissement contre sa part des signalements",
    "dissimilarity_vs_population": "Indice de dissimilarité: zone désignée par arrondissement contre sa population",
    "gini_per_inhabitant": "Indice de Gini des cellules désignées par habitant, entre arrondissements",
    "flagged_share": "Part de la zone désignée dans l'arrondissement",
    "report_share": "Part des signalements de l'arrondissement",
    "population_share": "Part de la population de l'arrondissement",
    "ratio_flagged_vs_reports": "Part de la zone désignée rapportée à la part des signalements",
    "conventions": "Conventions des données dont la ligne est issue",
    "convention": "Convention d'origine de l'enregistrement",
    "event_id": "Identifiant de l'événement (source:identifiant)",
    "record_id": "Identifiant dans la source",
    "source": "Source des données",
    "category": "Catégorie",
    "subcategory": "Sous-catégorie",
    "start": "Début",
    "end": "Fin",
    "geometry": "Géométrie (GeoJSON)",
    "geometry_type": "Type de géométrie",
    "lon": "Longitude (WGS84)",
    "lat": "Latitude (WGS84)",
    "h3_cell": "Cellule H3",
    "cell_idx": "Numéro de cellule",
    "arrondissement": "Arrondissement (code INSEE)",
    "quartier": "Quartier (code INSEE)",
    "zone": "Zone de l'étude",
    "attendance": "Fréquentation attendue",
    "version": "Version de l'enregistrement",
    "entered_at": "Saisi le",
    "geocode_precision": "Précision du géocodage",
    "_partition": "Jour d'export (partition)",
    "_file": "Fichier déposé",
    "_line": "Ligne du fichier",
    "id": "Identifiant",
    "area_m2": "Surface terrestre (m²)",
    "land_share": "Part terrestre de la cellule",
    "slot": "Créneau de service (numéro)",
    "slot_start": "Début du créneau",
    "slot_end": "Fin du créneau",
    "kind": "Type de créneau ou d'événement",
    "weekday": "Jour de la semaine",
    "month": "Mois",
    "ferie": "Jour férié",
    "veille_ferie": "Veille de jour férié",
    "vacances": "Vacances scolaires",
    "group": "Groupe de faits (source)",
    "n": "Nombre",
    "ring": "Anneau H3 autour de l'événement",
    "weight": "Poids (log de la fréquentation)",
    "share": "Part du créneau couverte",
    "known_slot": "Créneau à partir duquel l'événement est connu",
    "origin": "Origine de la prévision",
    "lead": "Écart à l'origine (créneaux)",
    "expected": "Nombre attendu",
    "lower_80": "Borne basse 80 %",
    "upper_80": "Borne haute 80 %",
    "lower_95": "Borne basse 95 %",
    "upper_95": "Borne haute 95 %",
    "rank": "Rang dans le créneau (1 = en tête: densité attendue des prévisions, indice des zones de tension, égalités départagées)",
    "model": "Modèle",
    "model_version": "Version du modèle",
    "variant": "Jeu de prévision (complete: toutes conventions; internal: données de la Ville)",
    "variant_conventions": "Conventions de l'ensemble du jeu de prévision",
    "explanations": "Trois contributions principales (explications)",
    "horizon": "Horizon",
    "coverage": "Part de surface",
    "hit_rate": "Taux de réussite",
    "pai": "PAI",
    "pei": "PEI",
    "n_events": "Nombre de faits",
    "index": "Indice de tension (0–100)",
    "level": "Niveau de tension",
    "explanation": "Explication",
    "as_of": "Instant d'analyse",
    "alert_id": "Identifiant de l'alerte",
    "severity": "Gravité",
    "indicator_id": "Indicateur",
    "value": "Valeur",
    "period": "Période",
    "period_level": "Niveau de période",
    "area": "Zone",
    "area_level": "Niveau de zone",
    "dimension": "Ventilation",
    # landing, raw and quarantine
    "_raw": "Texte d'origine de l'enregistrement (ses lignes physiques exactes)",
    "_digest": "Empreinte du texte d'origine (doublons exacts)",
    "_source": "Source d'atterrissage",
    "_parse_error": "Erreur de lecture",
    "raw": "Enregistrement rejeté, entier",
    "reasons": "Raisons du rejet",
    "reason": "Raison du rejet",
    "contract": "Contrat de données",
    "file": "Fichier déposé",
    "line": "Ligne du fichier",
    "path": "Chemin",
    "partition": "Partition (jour d'export)",
    "sha256": "Empreinte SHA-256",
    "bytes": "Taille (octets)",
    "records": "Enregistrements",
    "issues": "Anomalies de fichier",
    "read": "Enregistrements lus",
    "clean": "Enregistrements propres",
    "quarantined": "Enregistrements en quarantaine",
    "duplicates": "Doublons exacts",
    "balanced": "Équilibré (lus = propres + quarantaine + doublons)",
    "partitions": "Partitions",
    "unbalanced_partitions": "Partitions déséquilibrées",
    "parsed": "Enregistrements produits par le lecteur",
    "records_parsed": "Enregistrements produits par le lecteur",
    "first_seen": "Vu pour la première fois le",
    "current": "Version en vigueur du fichier",
    "added": "Enregistrements ajoutés par cette version",
    "removed": "Enregistrements retirés par cette version",
    "modified": "Enregistrements modifiés par cette version",
    "unassigned_reason": "Raison: aucun jour d'export valide",
    "files": "Fichiers déposés",
    "changed_files": "Fichiers modifiés après ingestion",
    "rows_added": "Enregistrements ajoutés par des versions modifiées",
    "rows_removed": "Enregistrements retirés par des versions modifiées",
    "rows_modified": "Enregistrements modifiés par des versions modifiées",
    "unassigned_files": "Fichiers sans jour d'export valide",
    "purged_at": "Purgé le",
    "retention_days": "Durée de conservation (jours)",
    "cutoff": "Purgé avant le",
    # conventions (C8, C9)
    "audience": "Destinataires",
    "computed_on": "Calculé le",
    "convention_id": "Convention",
    "days_left": "Jours restants",
    "due_on": "Échéance",
    "label": "Libellé",
    "level_label": "Niveau",
    "subject": "Objet",
    # models
    "hits": "Faits dans les cellules signalées",
    "max_hits": "Maximum atteignable",
    "oracle_hit_rate": "Taux de l'oracle",
    "hit_rate_vs_oracle": "Taux rapporté à l'oracle",
    "poisson_deviance": "Déviance de Poisson",
    "champion": "Prédicteur en service à cet horizon (règle du champion)",
    "champion_pourquoi": "Pourquoi ce prédicteur est en service",
    "interval_coverage_80": "Couverture de l'intervalle 80 %",
    "interval_coverage_95": "Couverture de l'intervalle 95 %",
    "strict_coverage_80": "Couverture stricte 80 %",
    "strict_coverage_95": "Couverture stricte 95 %",
    "observed": "Faits observés",
    "n_cells": "Nombre de cellules",
    "n_slots": "Nombre de créneaux",
    "planned_slots": "Créneaux avec événement prévu",
    "hit_rate_5": "Taux de réussite à 5 % de la surface",
    # the backtest the public reads (models/backtest_public, issue 13)
    "hit_rate_1": "Taux de réussite à 1 % de la surface (moyenne sur les origines)",
    "hit_rate_10": "Taux de réussite à 10 % de la surface (moyenne sur les origines)",
    "hit_rate_20": "Taux de réussite à 20 % de la surface (moyenne sur les origines)",
    "predictor_kind": "Nature du prédicteur (référence, modèle appris, oracle)",
    "n_origins": "Nombre d'origines évaluées",
    "first_origin": "Première origine",
    "last_origin": "Dernière origine",
    "n_events_exposed": "Faits dans les cellules exposées",
    "hit_rate_5_exposed": "Taux à 5 %, cellules exposées",
    "exposed_cell_slots": "Cellules × créneaux exposés",
    "poisson_deviance_exposed": "Déviance, cellules exposées",
    "expected_exposed": "Attendus, cellules exposées",
    "observed_exposed": "Observés, cellules exposées",
    "usage": "Usage (backtest, prévision)",
    "trained_at": "Appris le",
    "train_start": "Début de la fenêtre d'apprentissage",
    "train_end": "Fin de la fenêtre d'apprentissage",
    "n_rows": "Lignes d'apprentissage",
    "data_version": "Version des données",
    "n_features": "Nombre de variables",
    "features": "Variables",
    "params": "Paramètres",
    "metrics": "Scores",
    # indicators
    "active_from": "Actif à partir de",
    "active_to": "Actif jusqu'à",
    "shape": "Forme de l'emprise",
    "radius_m": "Rayon (m)",
    "n_records": "Enregistrements en cause",
    "event_ids": "Enregistrements en cause",
    "p": "Valeur p",
    "q": "Valeur q (FDR)",
    "z": "Score z (Gi*)",
    "p_normale": "Valeur p (loi normale)",
    "local_sum": "Faits du voisinage",
    "class": "Classe",
    "significant": "Significatif",
    "complete": "Période complète",
    "period_start": "Début de la période",
    "period_end": "Fin de la période",
    "class_code": "Classe émergente",
    "class_label": "Libellé de la classe",
    "class_esri": "Classe ESRI",
    "first_period": "Première période",
    "last_period": "Dernière période",
    "last_z": "Dernier z",
    "n_periods": "Périodes",
    "n_hot": "Périodes chaudes",
    "n_cold": "Périodes froides",
    "trend_tau": "Tendance (tau de Kendall)",
    "trend_s": "Tendance (S)",
    "trend_z": "Tendance (z)",
    "trend_p": "Tendance (p)",
    "day": "Jour",
    "shift": "Créneau",
    "hotspot_period": "Période du point chaud",
    "emerging_class": "Classe émergente",
    "forecast_expected": "Prévision: nombre attendu",
    "forecast_upper_95": "Prévision: borne haute 95 %",
    "starts_at": "Début",
    "ends_at": "Fin",
    "kind_label": "Type d'alerte",
    "reference": "Référence",
    "threshold": "Seuil",
    "indicator_name": "Nom de l'indicateur",
    "unit": "Unité",
    "value_display": "Valeur affichée",
    "suppressed": "Masquage (secret statistique)",
    "value_prev": "Valeur de la période précédente",
    "n_prev": "Effectif de la période précédente",
    "evolution_prev_pct": "Évolution vs période précédente (%)",
    "value_ly": "Valeur un an avant",
    "n_ly": "Effectif un an avant",
    "evolution_ly_pct": "Évolution sur un an (%)",
    "coverage_start": "Début de la couverture des données",
    "coverage_end": "Fin de la couverture des données",
    "name": "Nom",
    "definition": "Définition",
    "formula": "Formule",
    "sources": "Sources",
    "relation": "Relation",
    "value_sql": "Valeur (SQL)",
    "filter_sql": "Filtre (SQL)",
    "breakdown_sql": "Ventilation (SQL)",
    "areas": "Zones",
    "periods": "Périodes",
    "trends": "Évolutions calculées",
    "owner": "Responsable",
    "profiles": "Profils autorisés",
    "public": "Public",
    "public_threshold": "Seuil de publication",
    "status": "Statut",
    # traçabilité par convention (governance.convention_lineage, issue 11)
    "lineage_kind": "Nature de la ligne (table, modèle, fichiers reçus)",
    "table_name": "Table",
    "asset_key": "Asset Dagster",
    "tagged": "Étiquetée avec la convention (dérivation du graphe)",
    "rows": "Lignes de la convention",
    "total_rows": "Lignes de la table",
    "n_files": "Nombre de fichiers",
    "first_date": "Première date",
    "last_date": "Dernière date",
    "attribution": "Attribution des lignes (liste de conventions, convention, source, table entière)",
    "model_group": "Groupe du modèle",
    "landing_source": "Source d'atterrissage (dépôt)",
}
_PATTERNS = [
    (r"^(.+)_lag1$", "Faits « {} » au créneau précédent"),
    (r"^(.+)_1d$", "Faits « {} » sur le dernier jour"),
    (r"^(.+)_7d$", "Faits « {} » sur les 7 derniers jours"),
    (r"^(.+)_28d$", "Faits « {} » sur les 28 derniers jours"),
    (r"^(.+)_ly$", "Faits « {} » la même semaine l'an passé"),
    (r"^(.+)_(28|84)d_k(\d)$", "Faits « {} » sur {} jours, créneaux de type {}"),
    (r"^(.+)_rate_k(\d)$", "Taux annuel de faits « {} », créneaux de type {}"),
    (r"^(.+)_nb_(\d+)d$", "Faits « {} » des cellules voisines sur {} jours"),
    (r"^ev_(.+)_r(\d)$", "Exposition aux événements « {} », anneau {}"),
    (r"^c_(.+)$", "Composante « {} »"),
    (r"^contribution_(.+)$", "Contribution « {} » (points d'indice)"),
]


def dtype_name(dtype: pl.DataType) -> str:
    """A Polars type in Dagster's readable names: `datetime`, `list<string>`, `struct<a: int64>`."""
    if isinstance(dtype, pl.Datetime) or dtype == pl.Datetime:
        return "datetime"
    if isinstance(dtype, pl.Duration) or dtype == pl.Duration:
        return "duration"
    if isinstance(dtype, (pl.List, pl.Array)):
        return f"list<{dtype_name(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return "struct<" + ", ".join(f"{f.name}: {dtype_name(f.dtype)}" for f in dtype.fields) + ">"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if isinstance(dtype, pl.Enum):
        return "string"
    for k, v in _SIMPLE.items():
        if dtype == k:
            return v
    return str(dtype).lower()


def _contract_labels() -> dict[str, str]:
    """Field name (clean tables) and landing header (raw tables) → the contract's French label."""
    labels: dict[str, str] = {}
    for c in load_contracts().values():
        for f in c.all_fields:
            labels.setdefault(f.name, f.label)
            labels.setdefault(f.header, f.label)
    return labels


def column_description(name: str, labels: dict[str, str] | None = None) -> str | None:
    if name in GLOSSARY:
        return GLOSSARY[name]
    if labels and name in labels:
        return labels[name]
    for pattern, text in _PATTERNS:
        m = re.match(pattern, name)
        if m:
            return text.format(*m.groups())
    return (labels or {}).get(name)


def table_schema(schema: dict[str, pl.DataType], contract: Contract | None = None) -> dg.TableSchema:
    """Columns with readable types, described by the contract's labels (when given), the
    platform's glossary, or the labels of any contract's field of that name."""
    own = {f.name: f.label for f in contract.all_fields} if contract else {}
    anyc = _contract_labels()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, dtype_name(dtype), description=own.get(name) or column_description(name, anyc))
            for name, dtype in schema.items()
        ]
    )


def contract_column_schema(contract: Contract) -> dg.TableSchema:
    from tranquillite.validation import clean_schema

    return table_schema(clean_schema(contract), contract)


def conventions_count(df: pl.DataFrame | pl.LazyFrame) -> dict[str, int]:
    """Rows per convention (a row counts once for each convention of its list); a LazyFrame (a
    table of several files) is counted without being held in memory."""
    lf = df.lazy()
    names = lf.collect_schema().names()
    if "conventions" in names:
        c = lf.select(pl.col("conventions").explode().alias("c")).group_by("c").len()
    elif "convention" in names:
        c = lf.group_by(pl.col("convention").alias("c")).len()
    else:
        return {}
    c = c.collect(engine="streaming")
    return {k: int(n) for k, n in c.sort("c").iter_rows() if k is not None}


def _shape(schema: dg.TableSchema) -> list[tuple[str, str]]:
    """Columns and types, in order (what a table is; the descriptions are the definition's)."""
    return [(c.name, c.type) for c in schema.columns]


def base_metadata(
    df: pl.DataFrame | pl.LazyFrame, seconds: float, declared: dg.TableSchema | None = None, **extra
) -> dict:
    """Row count, schema, timing and rows per convention: never a row of the data (of a LazyFrame:
    the published files, read a column at a time).

    `declared`: the column schema on the asset's definition. A daily-partitioned asset's result is
    recorded once per day of its run (365 copies for a year), so its schema is written there only
    when the table's columns or types are not the declared ones; the UI shows the definition's
    otherwise."""
    rows = df.select(pl.len()).collect().item() if isinstance(df, pl.LazyFrame) else df.height
    return _metadata(rows, dict(df.collect_schema()), conventions_count(df), seconds, declared, extra)


def _metadata(rows: int, columns: dict, per: dict, seconds: float, declared: dg.TableSchema | None, extra) -> dict:
    schema = table_schema(columns)
    out = {"dagster/row_count": dg.MetadataValue.int(rows)}
    if declared is None or _shape(schema) != _shape(declared):
        out["dagster/column_schema"] = schema
    out["duree_s"] = dg.MetadataValue.float(round(seconds, 3))
    if per:
        out["lignes_par_convention"] = dg.MetadataValue.json(dict(sorted(per.items())))
    return {**out, **extra}


class RowTally:
    """What `base_metadata` says of a table a step writes a chunk of days at a time — rows, schema
    (the first chunk's: every chunk has the table's), rows per convention — without holding it."""

    def __init__(self) -> None:
        self.rows, self.columns, self.per = 0, None, Counter()

    def add(self, df: pl.DataFrame) -> None:
        self.rows += df.height
        if self.columns is None:
            self.columns = dict(df.schema)
        self.per.update(conventions_count(df))

    def metadata(self, seconds: float, declared: dg.TableSchema | None = None, **extra) -> dict:
        return _metadata(self.rows, self.columns or {}, dict(self.per), seconds, declared, extra)
