"""`features` layer: the H3 study grid, facts per cell × shift, features per cell × shift, and
planned-event exposure — the inputs of the forecasting models (issue #3).

A day with no data received (no fact of that day and no export of that day holding facts: an
export arriving late, a gap of weeks) is unknown, not a day without facts: `observed_counts` writes no partition for it, the
state windows over it are null, and the metadata list such days (`forecasting.gaps`).

The daily-partitioned assets are incremental: a new day writes its own partition (a rerun
replaces it, atomically), reading only the history its windows need (371 days back); a range is
one run (single-run backfill policy). Over a range longer than the training window, the runner
computes `observed_counts` for the whole range and `cell_slot` for the window only
(`runner.training_runs`): only the models read `cell_slot`, and only their window. The grid and the exposure table are small and rebuilt whole.
Study area, resolution, sources and shifts come from the `study_area` resource, never from code.
"""

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import RowTally, base_metadata
from tranquillite.assets.partitions import DAILY, rows_by_partition
from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting.counts import COUNT_SCHEMA, fact_counts
from tranquillite.forecasting.exposure import exposure_table
from tranquillite.forecasting.features import HISTORY_DAYS, neighbour_matrix, state_features, stored_features
from tranquillite.forecasting.gaps import describe, missing_days, observed_slots
from tranquillite.forecasting.grid import build_grid, disk_pairs
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import StudyArea
from tranquillite.resources import Warehouse

CHECK_GRID_AREA = "surface_de_la_grille"
CHECK_GRID_ZONES = "cellules_rattachees_a_une_zone"
CHECK_PANEL = "panel_complet"
CHECK_KNOWN_BEFORE = "connu_avant_usage"
# cell_slot computes a range of up to a year in one piece, a longer one by quarters, each with its
# year of history: 8 years in 1.8 GB (by years: 4.0 GB), a year as fast as before
CHUNK_DAYS, ONE_PIECE_DAYS = 92, 366

EVENT_COLUMNS = [
    "event_id",
    "source",
    "subcategory",
    "start",
    "end",
    "geometry",
    "geometry_type",
    "lon",
    "lat",
    "h3_cell",
    "attendance",
    "convention",
    "entered_at",
    "_partition",
]
EVENTS_SQL = (
    'SELECT event_id, source, subcategory, start, "end", geometry, geometry_type, lon, lat, h3_cell, attendance, '
    "convention, entered_at, _partition FROM clean.events WHERE list_contains(?::VARCHAR[], source)"
)


EVENTS_TABLE = f"{K.CLEAN}.events"  # the only view these readers need


def read_events(
    warehouse: Warehouse, sources: list[str], start: datetime | None = None, end: datetime | None = None
) -> pl.DataFrame:
    """Rows of `clean.events` of some sources, optionally with start in [start, end)."""
    if not warehouse.exists(K.CLEAN, "events") or not sources:
        return pl.DataFrame(schema={c: pl.Utf8 for c in EVENT_COLUMNS}).with_columns(
            pl.col("start", "end", "entered_at").cast(pl.Datetime("us")),
            pl.col("lon", "lat").cast(pl.Float64),
            pl.col("attendance").cast(pl.Int64),
        )
    sql = EVENTS_SQL
    params: list = [list(sources)]
    if start is not None:
        sql += " AND start >= ?"
        params.append(start)
    if end is not None:
        sql += " AND start < ?"
        params.append(end)
    with warehouse.connect(tables=[EVENTS_TABLE]) as con:
        return pl.from_arrow(con.sql(sql + " ORDER BY start, event_id", params=params).to_arrow_table())


def received_days(warehouse: Warehouse, sources: list[str], first: date, last: date) -> set[date]:
    """Days of [first, last] with data received: an export of that day holds facts of `sources`,
    or facts of that day arrived (in a later export, or a weekly one)."""
    if not warehouse.exists(K.CLEAN, "events") or not sources:
        return set()
    sql = (
        "SELECT DISTINCT d FROM (SELECT _partition AS d FROM clean.events WHERE list_contains(?::VARCHAR[], source) "
        "UNION ALL SELECT strftime(CAST(start AS DATE), '%Y-%m-%d') FROM clean.events "
        "WHERE list_contains(?::VARCHAR[], source)) WHERE d BETWEEN ? AND ?"
    )
    with warehouse.connect(tables=[EVENTS_TABLE]) as con:
        rows = con.execute(sql, [list(sources), list(sources), first.isoformat(), last.isoformat()]).fetchall()
    return {date.fromisoformat(r[0]) for r in rows if r[0]}


def gap_metadata(received, first: date, last: date) -> dict:
    """Days of [first, last] with no data received: their number and periods (metadata)."""
    missing = missing_days(received, first, last) if first <= last else []
    return {"jours_sans_donnees": len(missing), "periodes_sans_donnees": dg.MetadataValue.json(describe(missing))}


def _days(context: dg.AssetExecutionContext) -> list[date]:
    return sorted(date.fromisoformat(k) for k in context.partition_keys)


def write_data_area(warehouse: Warehouse, spec) -> None:
    """The study area of `TRANQUILLITE_AREA=donnees`: the union of the H3 cells holding a fact of the
    forecast sources in `clean.events`, written as a GeoJSON where `spec.area()` reads it."""
    from tranquillite import geo

    cells: list[str] = []
    if warehouse.exists(K.CLEAN, "events") and spec.groups:
        with warehouse.connect(tables=[EVENTS_TABLE]) as con:
            cells = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT h3_cell FROM clean.events WHERE list_contains(?::VARCHAR[], source) "
                    "AND h3_cell IS NOT NULL ORDER BY 1",
                    [list(spec.groups)],
                ).fetchall()
            ]
    if not cells:
        raise dg.Failure(
            "zone d'étude issue des données (TRANQUILLITE_AREA=donnees): aucun fait publié des "
            f"sources {', '.join(spec.groups)} — ingérer et publier avant la prévision"
        )
    path = Path(spec.boundary_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(geo.cells_geojson(cells, name=spec.name), encoding="utf-8")
    tmp.replace(path)


@dg.asset(
    key=K.STUDY_GRID_KEY,
    group_name=K.FEATURES,
    description=(
        "Grille d'étude: cellules H3 (résolution 9 par défaut) couvrant le contour de la zone "
        "d'étude, avec leur zone (arrondissement) et leur surface terrestre en m² (projection "
        "équivalente); les cellules entièrement en mer sont exclues. Donnée de référence de la Ville "
        "(contour de la zone d'étude)."
    ),
    deps=[],
    kinds={"h3", "parquet"},
    owners=[K.OWNER_DATA],
    tags=K.reference_tags("zone_d_etude"),
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_GRID_AREA,
            asset=K.STUDY_GRID_KEY,
            blocking=True,
            description="La surface des cellules égale celle de la zone (±0,5 %).",
        ),
        dg.AssetCheckSpec(CHECK_GRID_ZONES, asset=K.STUDY_GRID_KEY),
    ],
)
def study_grid(warehouse: Warehouse, study_area: StudyArea) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    spec = study_area.spec()
    if spec.from_data:  # TRANQUILLITE_AREA=donnees: the area is the H3 cells of the published facts
        write_data_area(warehouse, spec)
    area = spec.area()
    grid = build_grid(area, spec.h3_resolution).with_columns(CV.lit([CV.REFERENCE]).alias("conventions"))
    warehouse.write(K.FEATURES, "study_grid", grid)
    from tranquillite.forecasting.grid import equal_area_transformer, to_metric

    outline_m2 = float(to_metric(area.outline, equal_area_transformer(area.outline)).area)
    total = float(grid["area_m2"].sum()) if grid.height else 0.0
    rel = abs(total - outline_m2) / outline_m2 if outline_m2 else 1.0
    no_zone = grid.filter(pl.col("zone").is_null()).height
    return dg.MaterializeResult(
        metadata=base_metadata(
            grid,
            time.perf_counter() - t0,
            zone_d_etude=spec.name,
            resolution_h3=spec.h3_resolution,
            surface_km2=round(total / 1e6, 3),
            cellules_cotieres=grid.filter(pl.col("land_share") < 0.999).height,
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_GRID_AREA,
                passed=grid.height > 0 and rel < 0.005,
                metadata={"ecart_relatif": round(rel, 6), "surface_zone_km2": round(outline_m2 / 1e6, 3)},
            ),
            dg.AssetCheckResult(check_name=CHECK_GRID_ZONES, passed=no_zone == 0, metadata={"sans_zone": no_zone}),
        ],
    )


@dg.asset(
    key=K.PLANNED_EXPOSURE_KEY,
    group_name=K.FEATURES,
    description=(
        "Exposition aux événements prévus: pour chaque enregistrement de la Préfecture et chaque "
        "événement public, les cellules touchées (parcours tamponné ~100 m, emprise, adresses; "
        "anneaux H3 k=1 et k=4 autour) pendant ses créneaux, avec la fréquentation attendue et le "
        "créneau à partir duquel il est connu (saisie Cortège ou jour de publication). Chaque ligne "
        "porte la convention de son enregistrement."
    ),
    deps=[K.EVENTS_KEY, K.STUDY_GRID_KEY],
    kinds={"duckdb", "h3", "parquet"},
    owners=[K.OWNER_DATA],
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_KNOWN_BEFORE,
            asset=K.PLANNED_EXPOSURE_KEY,
            description="Chaque ligne porte le créneau à partir duquel l'événement est connu.",
        )
    ],
)
def planned_exposure(warehouse: Warehouse, study_area: StudyArea) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    spec = study_area.spec()
    sch = SlotScheme(spec.shift_hours)
    grid = warehouse.read(K.FEATURES, "study_grid")
    planned = read_events(warehouse, list(spec.planned_sources))
    ex = exposure_table(planned, grid, spec, sch, spec.area().outline)
    warehouse.write(K.FEATURES, "planned_exposure", ex)
    per_source = (
        ex.filter(pl.col("ring") == 0).group_by("source").agg(pl.col("event_id").n_unique())
        if ex.height
        else pl.DataFrame({"source": [], "event_id": []})
    )
    unknown = ex.filter(pl.col("known_slot").is_null()).height
    return dg.MaterializeResult(
        metadata=base_metadata(
            ex,
            time.perf_counter() - t0,
            enregistrements=dg.MetadataValue.json(dict(per_source.iter_rows())),
            enregistrements_lus=planned.height,
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_KNOWN_BEFORE, passed=unknown == 0, metadata={"sans_date_de_connaissance": unknown}
            )
        ],
    )


@dg.asset(
    key=K.OBSERVED_COUNTS_KEY,
    group_name=K.FEATURES,
    description=(
        "Faits observés par groupe (source), cellule H3 et créneau de service (06–14, 14–22, 22–06): "
        "la cible des prévisions. Une partition par jour de service (le créneau de nuit appartient "
        "au jour où il commence). Chaque ligne porte la convention des faits comptés (les sources "
        "de la Ville: `internal`)."
    ),
    deps=[K.EVENTS_KEY, K.STUDY_GRID_KEY],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "h3", "parquet"},
    owners=[K.OWNER_DATA],
    pool="warehouse_writer",
)
def observed_counts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, study_area: StudyArea
) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    spec = study_area.spec()
    sch = SlotScheme(spec.shift_hours)
    days = _days(context)
    s0 = timedelta(hours=sch.shift_hours[0])
    start = datetime.combine(days[0], datetime.min.time()) + s0
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time()) + s0
    grid = warehouse.read(K.FEATURES, "study_grid")
    events = read_events(warehouse, spec.groups, start, end)
    counts, outside = fact_counts(events, grid, spec.groups, sch, spec.h3_resolution)
    counts = counts.with_columns(sch.day_expr(pl.col("slot")).alias("_day"))
    received = received_days(warehouse, spec.groups, days[0], days[-1])
    per_day = rows_by_partition(counts, "_day", days, keep_key=False)
    with warehouse.writer() as out:
        for d in days:
            if d in received:
                out.write(K.FEATURES, "observed_counts", per_day[d].cast(COUNT_SCHEMA), partition=d.isoformat())
            else:  # no data received: unknown, not "no fact" (an earlier partition of it no longer holds)
                warehouse.drop_partition(K.FEATURES, "observed_counts", d.isoformat())
    counts = counts.filter(pl.col("_day").is_in(sorted(received))).drop("_day")
    if len(received) < len(days):
        context.log.warning(
            f"{len(days) - len(received)} jour(s) sans données reçues dans la plage: "
            + ", ".join(describe(missing_days(received, days[0], days[-1])))
        )
    return dg.MaterializeResult(
        metadata=base_metadata(
            counts,
            time.perf_counter() - t0,
            partitions=len(received),
            faits=int(counts["n"].sum() or 0),
            faits_hors_grille=outside,
            **gap_metadata(received, days[0], days[-1]),
            par_groupe=dg.MetadataValue.json(
                {g: int(n) for g, n in counts.group_by("group").agg(pl.col("n").sum()).iter_rows()}
            ),
        )
    )


@dg.asset(
    key=K.CELL_SLOT_KEY,
    group_name=K.FEATURES,
    description=(
        "Caractéristiques par cellule × créneau, connues au début du créneau: comptes décalés et "
        "glissants par groupe (dernier créneau, jour, semaine, 4 semaines, même semaine l'an passé, "
        "par type de créneau sur 4 et 12 semaines, taux annuel), voisinage H3 k=1 (effets de "
        "répétition), calendrier (créneau, jour, mois, jours fériés, vacances scolaires zone B) et "
        "exposition aux événements prévus connus à ce moment-là. Chaque ligne porte les conventions "
        "des faits comptés et de la grille, et celles des événements prévus qui la touchent. Sur une "
        "longue plage, l'entraînement ne les calcule que pour sa fenêtre (les jours que le backtest et "
        "les modèles lisent), les comptes observés pour toute la plage."
    ),
    deps=[
        dg.AssetDep(
            K.OBSERVED_COUNTS_KEY,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-HISTORY_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        ),
        K.STUDY_GRID_KEY,
        K.PLANNED_EXPOSURE_KEY,
    ],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"polars", "h3", "parquet"},
    owners=[K.OWNER_DATA],
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_PANEL,
            asset=K.CELL_SLOT_KEY,
            blocking=True,
            description="Une ligne par cellule et par créneau de chaque jour.",
        )
    ],
)
def cell_slot(context: dg.AssetExecutionContext, warehouse: Warehouse, study_area: StudyArea) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    spec = study_area.spec()
    sch = SlotScheme(spec.shift_hours)
    days = _days(context)
    grid = warehouse.read(K.FEATURES, "study_grid")
    exposure = warehouse.read(K.FEATURES, "planned_exposure")
    available = warehouse.partitions(K.FEATURES, "observed_counts")
    if not available:
        raise dg.Failure("features/observed_counts n'est pas matérialisé")
    data_start = date.fromisoformat(available[0])
    nb = neighbour_matrix(disk_pairs(grid["h3_cell"].to_list(), 1), grid.height)
    s_data = sch.first_slot(data_start)
    observed = observed_slots(available, sch, s_data, sch.first_slot(days[-1]) + sch.n - s_data)
    expected = grid.height * sch.n
    sizes, tally = [], RowTally()
    # by periods of CHUNK_DAYS: the memory is one period and its year of history, whatever the range
    step = len(days) if len(days) <= ONE_PIECE_DAYS else CHUNK_DAYS
    for k in range(0, len(days), step):
        chunk = days[k : k + step]
        lo = (chunk[0] - timedelta(days=HISTORY_DAYS)).isoformat()
        need = [p for p in available if lo <= p <= chunk[-1].isoformat()]
        counts = warehouse.read(K.FEATURES, "observed_counts", need) if need else pl.DataFrame(schema=COUNT_SCHEMA)
        states = state_features(
            counts,
            grid.height,
            spec.groups,
            sch,
            sch.first_slot(chunk[0]),
            sch.first_slot(chunk[-1]) + sch.n - 1,
            s_data,
            nb,
            observed,
        )
        out = stored_features(states, spec, sch, exposure, grid)
        del states
        out = out.with_columns(sch.day_expr(pl.col("slot")).alias("_day"))
        per_day = rows_by_partition(out, "_day", chunk, keep_key=False)
        with warehouse.writer() as writer:
            for d in chunk:
                part = per_day.pop(d)
                sizes.append(part.height)
                writer.write(K.FEATURES, "cell_slot", part, partition=d.isoformat())
        tally.add(out.drop("_day"))
        del out
    bad = sum(1 for s in sizes if s != expected)
    return dg.MaterializeResult(
        metadata=tally.metadata(
            time.perf_counter() - t0,
            partitions=len(days),
            colonnes=len(tally.columns or {}),
            periodes_calculees=-(-len(days) // step),
            debut_des_donnees=data_start.isoformat(),
            **gap_metadata(available, data_start, days[-1]),
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_PANEL,
                passed=bad == 0,
                metadata={
                    "partitions_incompletes": bad,
                    "lignes_attendues_par_jour": expected,
                    # not a defect: days with no data received
                    "jours_sans_donnees_recues": sum(1 for d in days if d.isoformat() not in available),
                },
            )
        ],
    )


FEATURE_ASSETS = [study_grid, planned_exposure, observed_counts, cell_slot]
