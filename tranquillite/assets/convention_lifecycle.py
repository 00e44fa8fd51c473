"""Conventions in the asset graph (#12): the published alerts table, and the change-of-nature gate.

* `governance/convention_alerts` — every reminder of the conventions' deadlines (term end,
  maximum duration, notice, destruction at D-5 / D-1 / overdue, contractors' hand-overs, changed
  contracts), recomputed from the registry by the daily schedule and the conventions sensor. It
  also applies the end's effects that have fallen due (partner accounts deactivated, logged).
  The app shows it to the gestionnaire and the DPO (`governance.convention_alerts`).
* `nature_des_donnees` — a BLOCKING check on the raw asset of every source of a convention whose
  contracts are fingerprinted (C2): a change of fields or meaning stops the source's clean tables
  until the DPO acknowledges it in the app.
"""

import time
from datetime import date

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.resources import Warehouse

ALERTS_TABLE = "convention_alerts"
ALERTS_KEY = K.CONVENTION_ALERTS_KEY
CHECK_NATURE = "nature_des_donnees"
ALERTS_SCHEMA = {
    "kind": pl.Utf8,
    "level": pl.Utf8,
    "level_label": pl.Utf8,
    "label": pl.Utf8,
    "convention_id": pl.Utf8,
    "subject": pl.Utf8,
    "due_on": pl.Date,
    "days_left": pl.Int64,
    "audience": pl.Utf8,
    "computed_on": pl.Date,
}


@dg.asset(
    key=ALERTS_KEY,
    group_name=K.GOVERNANCE,
    description=(
        "Rappels et alertes des conventions (C2, C8, C9): fin de période et reconduction tacite, durée "
        "maximale, préavis en cours, destruction des données à J-5, J-1 et en retard, remises temporaires "
        "aux prestataires, contrats modifiés en attente du DPO. Une ligne par rappel (métadonnées des "
        "conventions, aucune donnée des partenaires). Applique aussi les effets de fin échus (comptes du "
        "partenaire désactivés)."
    ),
    kinds={"sqlite", "parquet"},
    owners=[K.OWNER_DPO],
    # built from the conventions registry of the app store (dates and states: the City's own records)
    tags=K.reference_tags("registre_des_conventions"),
    pool="warehouse_writer",
)
def convention_alerts(warehouse: Warehouse) -> dg.MaterializeResult:
    from tranquillite.app_core import store
    from tranquillite.conventions import registry, reminders, usage

    t0 = time.perf_counter()
    today = date.today()
    with store.connect() as con:
        applied = {}
        for code in sorted(usage.ended_conventions(con, today)):
            if not registry.get(con, code)["effects_applied_at"]:
                applied[code] = usage.apply_end_effects(con, code, today)
        rows = reminders.all_reminders(con, today)
    df = pl.DataFrame([{**r, "computed_on": today} for r in rows], schema=ALERTS_SCHEMA)
    warehouse.write(K.GOVERNANCE, ALERTS_TABLE, df)
    warehouse.publish_catalog()
    return dg.MaterializeResult(
        metadata=base_metadata(
            df,
            time.perf_counter() - t0,
            par_niveau=dg.MetadataValue.json({lv: int(n) for lv, n in df.group_by("level").len().iter_rows()}),
            effets_de_fin_appliques=dg.MetadataValue.json(applied),
        )
    )


def _nature_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=K.raw_key(source),
        name=CHECK_NATURE,
        blocking=True,
        description=(
            "La nature des données (champs, libellés, types, énumérations des contrats) est celle "
            "reconnue par le DPO; sinon l'ingestion de la source est bloquée (C2, art. 3)."
        ),
    )
    def _check() -> dg.AssetCheckResult:
        from tranquillite.conventions import nature
        from tranquillite.settings import settings

        st = nature.gate_status(source, settings().contracts)
        return dg.AssetCheckResult(
            passed=bool(st["ok"]),
            severity=dg.AssetCheckSeverity.ERROR,
            description=None
            if st["ok"]
            else (
                "Contrats modifiés: informer les DPO et saisir la référence de l'étude "
                "d'impact dans l'application (page « Nature des données »)."
            ),
            metadata={
                "empreinte": (st["fingerprint"] or "")[:16],
                "empreinte_reconnue": (st["acknowledged"] or "")[:16],
                "changements": dg.MetadataValue.json(st["changes"]),
            },
        )

    return _check


def nature_checks() -> list[dg.AssetChecksDefinition]:
    from tranquillite.conventions.nature import fingerprinted_sources

    return [_nature_check(s) for s in sorted(fingerprinted_sources()) if s in K.SOURCES]


CONVENTION_ASSETS = [convention_alerts]


class ExtractionConfig(dg.Config):
    remise: int
    par: str = "gestionnaire"


@dg.op(
    name="extraire_pour_prestataire",
    pool="warehouse_writer",
    description=(
        "Produit l'extrait d'une remise temporaire à un prestataire (C8): les lignes des tables choisies "
        "dont toutes les conventions le permettent, un manifeste avec les empreintes SHA-256."
    ),
)
def extract_for_contractor(context: dg.OpExecutionContext, config: ExtractionConfig) -> dg.Output:
    from tranquillite.app_core import store
    from tranquillite.conventions import contractors
    from tranquillite.settings import paths

    with store.connect() as con:
        try:
            m = contractors.extract(
                con, paths().home, config.remise, login=config.par, profile="gestionnaire_habilitations"
            )
        except contractors.HandoverError as exc:
            raise dg.Failure(str(exc)) from exc
    return dg.Output(
        m["reference"],
        metadata={
            "reference": m["reference"],
            "fichiers": len(m["fichiers"]),
            "lignes": sum(f["lignes"] for f in m["fichiers"]),
        },
    )


@dg.job(
    name="extraction_prestataire", description="Extrait d'une remise temporaire à un prestataire (C8), avec manifeste."
)
def extraction_job():
    extract_for_contractor()
