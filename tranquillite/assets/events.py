"""`clean/events`: one table of every event and fact affecting public space (C4).

Built in DuckDB from the clean tables, driven by each contract's `event:` mapping. A Préfecture
entry amended in Cortège has several versions: only the latest is an event. A record exported
twice on different days is kept once (its latest export).
"""

import time

import dagster as dg
import polars as pl

from tranquillite.assets import constants as K
from tranquillite.assets.metadata import base_metadata
from tranquillite.contracts import Contract, load_contracts
from tranquillite.resources import Warehouse

EVENT_COLUMNS = [
    "event_id",
    "source",
    "record_id",
    "category",
    "subcategory",
    "start",
    "end",
    "geometry",
    "geometry_type",
    "lon",
    "lat",
    "h3_cell",
    "arrondissement",
    "convention",
    "conventions",
    "attendance",
    "version",
    "entered_at",
    "_partition",
]


def _ident(name: str) -> str:
    """Column names come from the contracts (trusted repo files), quoted as identifiers."""
    return '"' + name.replace('"', '""') + '"'


def contract_select(c: Contract, glob: str) -> tuple[str, list]:
    ev = c.event
    sub = _ident(ev["subcategory"]) if ev.get("subcategory") else "NULL"
    end = _ident(ev["end"]) if ev.get("end") else _ident(ev["start"])
    att = f"CAST({_ident(ev['attendance'])} AS BIGINT)" if ev.get("attendance") else "NULL::BIGINT"
    version = "version" if c.envelope else "1"
    entered = "saisi_le" if c.envelope else "NULL::TIMESTAMP"
    sql = f"""
        SELECT ? || ':' || {_ident(c.id_field)} AS event_id, ? AS source, {_ident(c.id_field)} AS record_id,
               ? AS category, CAST({sub} AS VARCHAR) AS subcategory,
               {_ident(ev["start"])} AS start, {end} AS "end",
               geometry, geometry_type, lon, lat, h3_cell, arrondissement, ? AS convention,
               list_value(?::VARCHAR) AS conventions,
               {att} AS attendance, CAST({version} AS BIGINT) AS version, {entered} AS entered_at, _partition
        FROM read_parquet(?, union_by_name = true)
        QUALIFY row_number() OVER (PARTITION BY {_ident(c.id_field)}
                                   ORDER BY {version} DESC, _partition DESC, _file DESC, _line DESC) = 1
    """
    return sql, [c.name, c.name, ev.get("category", c.name), c.convention, c.convention, glob]


def build_events(warehouse: Warehouse) -> pl.DataFrame:
    parts, params = [], []
    for c in load_contracts().values():
        if warehouse.exists(K.CLEAN, c.name):
            sql, p = contract_select(c, warehouse.glob(K.CLEAN, c.name))
            parts.append(sql)
            params += p
    if not parts:
        return pl.DataFrame(schema={c: pl.List(pl.Utf8) if c == "conventions" else pl.Utf8 for c in EVENT_COLUMNS})
    with warehouse.connect(tables=()) as con:  # the contracts' files are read by their globs: no view
        query = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY start, event_id"
        return pl.from_arrow(con.sql(query, params=params).to_arrow_table())


@dg.asset(
    key=K.EVENTS_KEY,
    group_name=K.CLEAN,
    description=(
        "Tous les événements et faits impactant l'espace public (C4): source, catégorie, "
        "début, fin, géométrie (point, parcours, emprise), point représentatif, cellule H3, "
        "arrondissement, convention d'origine (`convention`, et la liste `conventions` commune à "
        "toutes les tables publiées), fréquentation attendue. Une ligne par enregistrement (dernière "
        "version des saisies Cortège)."
    ),
    deps=[K.clean_key(c) for c in load_contracts()],
    kinds={"duckdb", "parquet"},
    owners=[K.OWNER_DATA],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse_writer",
    check_specs=[
        dg.AssetCheckSpec("identifiants_uniques", asset=K.EVENTS_KEY, blocking=True),
        dg.AssetCheckSpec("localise_dans_la_zone", asset=K.EVENTS_KEY),
    ],
)
def events(warehouse: Warehouse) -> dg.MaterializeResult:
    t0 = time.perf_counter()
    df = build_events(warehouse)
    # sorted by start, ~10 days a row group: a month's map query reads a few row groups only
    warehouse.write(K.CLEAN, "events", df, row_group_size=5_000)
    per_source = df.group_by("source").len().sort("source") if df.height else pl.DataFrame()
    dup = df.height - df.get_column("event_id").n_unique() if df.height else 0
    unlocated = df.filter(pl.col("h3_cell").is_null() | pl.col("arrondissement").is_null()).height if df.height else 0
    return dg.MaterializeResult(
        metadata=base_metadata(
            df, time.perf_counter() - t0, par_source=dg.MetadataValue.json({s: n for s, n in per_source.iter_rows()})
        ),
        check_results=[
            dg.AssetCheckResult(check_name="identifiants_uniques", passed=dup == 0, metadata={"doublons": dup}),
            dg.AssetCheckResult(
                check_name="localise_dans_la_zone", passed=unlocated == 0, metadata={"non_localises": unlocated}
            ),
        ],
    )
