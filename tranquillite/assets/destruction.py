"""The destruction job (C9): an operator launches it (CLI `tranquillite convention detruire`, or the
Dagster UI with the convention in the run configuration) once the convention has ended.

One op, on purpose: the convention's record ids and values live only in this process's memory
between the inventory and the scan — an op output would be pickled by the IO manager under the
Dagster home, i.e. a new copy of the data to destroy. The op logs counts only.

Steps: check the convention has ended and who ordered the destruction → salt + fingerprints of every
record id and distinctive value → purge per store (models first, so that the tables referencing
them follow; landing, Parquet tables by row lineage, temporary files, catalog, app store, Dagster
storage) → the independent scan over the whole home → the signed attestation (JSON + PDF) under
`$TRANQUILLITE_HOME/attestations/`, and the registry marks the convention destroyed.
"""

import hashlib
import json
import time
import uuid
from datetime import date, datetime, timezone

import dagster as dg

from tranquillite.assets import constants as K

DESTRUCTION_JOB = "destruction_convention"
DESTRUCTION_TAG = "tranquillite/convention_detruite"


class DestructionConfig(dg.Config):
    convention: str
    ordonnee_par: str = ""  # default: the order recorded in the registry
    executee_par: str = "exploitant"
    attestation: str = ""  # default: a new identifier


def assets_holding_only(convention: str) -> list[list[str]]:
    """Asset keys whose conventions, derived through the asset graph, are exactly this convention
    (their whole history is its data)."""
    from tranquillite.assets.conventions import conventions_by_asset
    from tranquillite.definitions import build_defs

    return sorted(list(k.path) for k, convs in conventions_by_asset(build_defs()).items() if convs == {convention})


def _outside(con, convention: str) -> list[dict]:
    from tranquillite.contracts import load_conventions
    from tranquillite.conventions import contractors, registry

    items = [{"quoi": o["what"], "qui": o["who"]} for o in load_conventions()[convention].get("outside_platform") or []]
    confirmed = {}
    for h in registry.history(con, convention):
        if h["change"] == "confirmation_hors_plateforme":
            d = json.loads(h["detail"])
            confirmed.setdefault(int(d["element"]), {"confirme_par": h["login"], "confirme_le": h["at"][:10]})
    for i, it in enumerate(items):
        it.update(confirmed.get(i, {}))
    for h in contractors.open_for(con, convention):
        items.append(
            {
                "quoi": f"Remise temporaire n° {h['id']} à {h['contractor']} ({h['work']})",
                "qui": f"{h['contractor']} (justification écrite), vérifiée par le gestionnaire",
            }
        )
    return items


@dg.op(
    name="detruire_convention",
    description=(
        "Détruit toutes les données d'une convention terminée dans chaque magasin de la plateforme, "
        "vérifie par un contrôle indépendant qu'aucune trace ne subsiste et écrit l'attestation signée."
    ),
    tags={"tranquillite/conventions": "destruction"},
    pool="warehouse_writer",
)
def destroy_convention(context: dg.OpExecutionContext, config: DestructionConfig) -> dg.Output:
    from tranquillite.app_core import store
    from tranquillite.conventions import attestation, destruction as D, keys, registry, scanner
    from tranquillite.conventions.lifecycle import fr
    from tranquillite.resources.warehouse import Warehouse
    from tranquillite.settings import paths

    home = paths().home
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    today = date.today()
    conv = config.convention
    target = D.Target.of(conv)
    with store.connect(owner=True) as con:  # PostgreSQL: the owner's role rewrites the append-only tables
        row = registry.get(con, conv)
        lc = registry.lifecycles(con)[conv]
        if not lc.ended(today):
            raise dg.Failure(
                f"La convention {conv} est encore en vigueur (fin le {fr(lc.end())}): destruction refusée."
            )
        ordered_by = config.ordonnee_par or row["destruction_ordered_by"] or ""
        if not ordered_by:
            raise dg.Failure(
                "Aucun ordre de destruction enregistré: l'ordonner dans l'application (page Conventions) "
                "ou préciser `ordonnee_par`."
            )
        stem = config.attestation or f"destruction-{conv}-{today.isoformat()}-{uuid.uuid4().hex[:8]}"
        salt = keys.new_salt(home, stem)
        collected = D.collect(home, target, con)
        fps = D.fingerprints(collected, salt)
        context.log.info(
            f"inventaire: {len(fps['identifiants'])} identifiants, {len(fps['valeurs'])} valeurs "
            f"distinctives, {len(collected.landing_files)} fichiers déposés"
        )
        purge_id = D.open_purge(con, conv, ordered_by, config.executee_par)
        rep = D.Report()
        try:
            red = D.Redactor(collected, conv)
            D.purge_models(home, target, collected, rep)
            D.purge_landing(home, target, collected, rep)
            D.purge_parquet(home, target, collected, rep)
            D.purge_temporary(home, rep)
            # files deleted and rewritten: the catalog rebuilt whole, whatever its record says
            Warehouse(root=str(paths().warehouse)).publish_catalog(force=True)
            rep.add("entrepôt", "catalog.duckdb", "catalogue reconstruit (vues seulement)")
            D.purge_app_store(
                con,
                store.store_path(),
                target,
                red,
                purge_id,
                lambda b: keys.sign(home, b),
                rep,
                alert_ids=collected.alert_ids,
            )
            only = assets_holding_only(conv)
            context.instance.wipe_assets([dg.AssetKey(k) for k in only])
            run_db = [p for p in paths().dagster_home.rglob(f"{context.run_id}.db")]
            D.purge_dagster(paths().dagster_home, red, only, rep, skip=run_db)
            context.log.info(f"purge: {json.dumps(rep.totals(), ensure_ascii=False)}")
            del red
            collected.ids.clear()
            collected.values.clear()
            result = scanner.scan(
                home,
                scanner.Fingerprints(
                    salt,
                    set(fps["identifiants"]),
                    set(fps["valeurs"]),
                    set(fps["fichiers_sha256"]),
                    collected.max_id_tokens(),
                ),
            )
        except Exception:
            D.close_purge(con, purge_id, "echec", {"magasins": rep.totals()})
            raise
        finished = datetime.now(timezone.utc)
        deadline = lc.destruction_deadline
        manifest = {
            "format": attestation.FORMAT,
            "attestation": stem,
            "etablie_le": finished.isoformat(timespec="seconds"),
            "convention": {
                "code": conv,
                "titre": row["title"],
                "parties": __import__("tranquillite.contracts", fromlist=["x"]).load_conventions()[conv].get("parties"),
                "notifiee_le": row["notified_on"],
                "denoncee_le": row["notice_on"],
                "denoncee_par": row["notice_by"],
                "fin": lc.end().isoformat(),
                "destruction_avant": deadline.isoformat() if deadline else None,
            },
            "destruction": {
                "ordonnee_par": ordered_by,
                "ordonnee_le": row["destruction_ordered_at"],
                "executee_par": config.executee_par,
                "debut": started.isoformat(timespec="seconds"),
                "fin": finished.isoformat(timespec="seconds"),
                "execution": context.run_id,
                "registre": purge_id,
                "dans_le_delai": bool(deadline and today <= deadline),
                "duree_s": round(time.perf_counter() - t0, 1),
            },
            "detruit": rep.items,
            "totaux": rep.totals(),
            "non_tracable": rep.not_traceable,
            "hors_plateforme": _outside(con, conv),
            "verification": {
                "methode": "empreintes BLAKE2b-128 salées; analyse indépendante de chaque fichier du "
                "répertoire de la plateforme (Parquet, SQLite, DuckDB, JSON, texte, octets)",
                "sel_sha256": hashlib.sha256(salt).hexdigest(),
                "max_id_tokens": collected.max_id_tokens(),
                "fingerprints": fps,
                "resultat": result.summary(),
            },
        }
        json_path, pdf_path = attestation.write(home, manifest)
        D.close_purge(
            con,
            purge_id,
            "terminee",
            {"attestation": json_path.name, "traces": result.n_hits, "magasins": rep.totals()},
        )
        registry.mark_destroyed(con, conv, today, str(json_path), login=config.executee_par)
    context.log.info(f"contrôle indépendant: {result.n_hits} trace(s) dans {sum(result.files.values())} fichiers")
    return dg.Output(
        str(json_path),
        metadata={
            "attestation": dg.MetadataValue.path(str(json_path)),
            "pdf": dg.MetadataValue.path(str(pdf_path)),
            "traces_trouvees": result.n_hits,
            "fichiers_examines": sum(result.files.values()),
            "duree_s": round(time.perf_counter() - t0, 1),
            "totaux": dg.MetadataValue.json(rep.totals()),
        },
    )


@dg.job(
    name=DESTRUCTION_JOB,
    tags={DESTRUCTION_TAG: "oui"},
    description=(
        "Destruction des données d'une convention résiliée (C9), avec contrôle indépendant et attestation "
        "signée. Configuration: la convention, qui l'a ordonnée, qui l'exécute."
    ),
)
def destruction_job():
    destroy_convention()


def recompute_without_ended(defs, instance, forecast_settings=None) -> list:
    """After the end: publish, train, forecast and indicators again over the features' range — the
    planned sources of ended conventions are left out (`usage.in_force_sources`), so features,
    models (retrained: none in service keeps the ended convention's data), forecasts and
    indicators no longer carry them. Returns the runner's outcomes."""
    from tranquillite import runner
    from tranquillite.resources.warehouse import Warehouse
    from tranquillite.settings import paths

    wh = Warehouse(root=str(paths().warehouse))
    days = wh.partitions(K.FEATURES, "observed_counts")
    outcomes = [runner._run(defs, runner.PUBLISH_JOB, instance)]
    if days and outcomes[-1].success:
        tags = {runner.RANGE_START_TAG: days[0], runner.RANGE_END_TAG: days[-1]}
        for job in (runner.TRAINING_JOB, runner.PREVISION_JOB):
            outcomes.append(
                runner._run(defs, job, instance, tags, runner.forecast_run_config(forecast_settings or {}, job))
            )
            if not outcomes[-1].success:
                break
    if outcomes[-1].success:
        # every indicator table whole, not only the periods whose rows changed (indicators.incremental)
        from tranquillite.indicators.incremental import FULL_TAG

        outcomes.append(runner._run(defs, runner.INDICATORS_JOB, instance, {FULL_TAG: "oui"}))
    return outcomes
