"""Publishes the head of the app's access log, every 5 minutes, where the app cannot rewrite it (T4).

The app writes its access log (HMAC chain) into `platform.sqlite`; this sensor, run by the Dagster
daemon — another process, which may run as another user — reads the chain head, appends it
signed to the append-only heads file and records it as an observation of the asset
`app_access_log` in Dagster's event log. `audit.verify` compares the log with those heads: a
truncation, or the restore of an older copy of the store, no longer matches a published head.
"""

from __future__ import annotations

import dagster as dg

from tranquillite.app_core import audit, store
from tranquillite.assets import constants as K

ACCESS_LOG = dg.AssetSpec(
    K.ACCESS_LOG_KEY,
    group_name=K.GOVERNANCE,
    owners=[K.OWNER_DPO],
    kinds={"sqlite"},
    # the app's own records (who saw what): the City's; conventions derived like every asset's
    tags=K.reference_tags("journal_d_acces"),
    description="Journal d'accès de l'application de restitution (ajout seul, chaîne HMAC): sa tête est "
    "publiée ici toutes les 5 minutes par le capteur access_log_heads (T4).",
)


@dg.sensor(
    name="access_log_heads",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publie la tête signée du journal d'accès (fichier en ajout seul + observation Dagster).",
)
def access_log_heads_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    if not store.exists():
        return dg.SkipReason("pas encore de magasin de l'application")
    with store.connect() as con:
        v = audit.verify(con)
        try:
            h = audit.publish_head(con, at=store.iso(store.now_utc()))
        except audit.AuditKeyError as exc:
            return dg.SkipReason(str(exc))
    return dg.SensorResult(
        asset_events=[
            dg.AssetObservation(
                asset_key=ACCESS_LOG.key,
                metadata={
                    "derniere_ligne": h["id"],
                    "tete": h["row_hash"],
                    "lignes": h["count"],
                    "integre": v.intact,
                    "problemes": len(v.problems),
                },
            )
        ]
    )
