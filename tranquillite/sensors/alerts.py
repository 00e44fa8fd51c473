"""The alerts sensor: raises each new alert of `indicators.alerts` once, as an observation of that
asset (moved out of the indicator assets so that loading the sensor does not load their code)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.indicators import alerts as A
from tranquillite.indicators.config import IndicatorSettings
from tranquillite.resources import Warehouse

ALERT_SENSOR = "alertes_indicateurs"

_PARTNER_ALERT = "{} — alerte tirée de données sous convention partenaire: détail dans l'application."


@dg.sensor(
    name=ALERT_SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Lève chaque nouvelle alerte de indicators.alerts une seule fois: une observation de l'asset "
        "indicators/alerts par alerte (visible dans le catalogue d'assets), la plus grave d'abord."
    ),
)
def alerts_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, indicators: IndicatorSettings
) -> dg.SensorResult:
    table = warehouse.read(K.INDICATORS, "alerts") if warehouse.exists(K.INDICATORS, "alerts") else None
    fresh, cursor = A.new_alerts(table, context.cursor, indicators.sensor_max_per_tick)
    # Dagster's event log is readable by whoever runs the UI: an alert drawn from a partner's data
    # is raised with its id, kind, severity, place and conventions, never its explanation or records
    city = (
        pl.col("conventions").list.eval(pl.element().is_in(sorted(K.PUBLIC_CONVENTIONS))).list.all()
        if "conventions" in fresh.columns
        else pl.lit(False)
    )
    fresh = fresh.with_columns(city.fill_null(False).alias("_city"))
    events = [
        dg.AssetObservation(
            asset_key=K.ALERTS_KEY,
            description=r["explanation"] if r["_city"] else _PARTNER_ALERT.format(r["kind_label"]),
            metadata={
                "alert_id": r["alert_id"],
                "type": r["kind"],
                "libelle": r["kind_label"],
                "gravite": r["severity"],
                "zone": f"{r['area_level']} {r['area']}",
                "debut": str(r["starts_at"]),
                "fin": str(r["ends_at"]),
                "conventions": dg.MetadataValue.json(r.get("conventions") or []),
                **(
                    {
                        "explication": dg.MetadataValue.text(r["explanation"]),
                        "enregistrements": dg.MetadataValue.json(r["event_ids"] or []),
                    }
                    if r["_city"]
                    else {}
                ),
            },
            tags={"tranquillite/alerte": r["kind"], "tranquillite/gravite": r["severity"]},
        )
        for r in fresh.iter_rows(named=True)
    ]
    for r in fresh.head(20).iter_rows(named=True):
        context.log.info(
            f"[{r['severity']}] " + (r["explanation"] if r["_city"] else _PARTNER_ALERT.format(r["kind_label"]))
        )
    if fresh.height > 20:
        context.log.info(f"… et {fresh.height - 20} autres alertes (observations de indicators/alerts)")
    return dg.SensorResult(asset_events=events, cursor=cursor, skip_reason=None if events else "aucune nouvelle alerte")
