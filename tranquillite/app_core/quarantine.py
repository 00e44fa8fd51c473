"""The DPO's view of the quarantine (issue #9, C2): counts per source and reason, the records with
every detected personal datum masked, the retention and the purge history.

Reads go through the gateway (`queries.quarantine_query`: principals granted the page only).
A record is shown field by field, each value masked by the personal-data guard
(`tranquillite.pii`: the same detector as the pipeline's) — "Rappeler Mme ██████ au ██ ██ ██ ██ ██".
"""

from __future__ import annotations

import json

import re

import polars as pl

from tranquillite import retention
from tranquillite.app_core import queries, store
from tranquillite.pii import mask_text

PAGE = queries.QUARANTINE_PAGE
MAX_ROWS = 200


def reasons(cat: queries.Catalog, principal) -> pl.DataFrame:
    """Records per source and reason code."""
    df = queries.quarantine_query(cat, principal, "governance.quarantine", select="source, reasons")
    df = (
        df.with_row_index("_record")
        .explode("reasons")
        .with_columns(pl.col("reasons").str.split(":").list.first().alias("reason"))
    )
    # a record counts once per reason code (`valeur_invalide:lon` and `:lat` are one record)
    return (
        (
            df.filter(pl.col("reason").is_not_null())
            .unique(subset=["_record", "reason"])
            .group_by("source", "reason")
            .len()
            .rename({"len": "records"})
            .sort("source", "reason")
        )
        if df.height
        else pl.DataFrame(schema={"source": pl.Utf8, "reason": pl.Utf8, "records": pl.UInt32})
    )


def masked(raw: str | None) -> str:
    """The record with its personal data masked: `Champ : valeur · …` (a JSON record) or the text."""
    if not raw:
        return ""
    try:
        rec = json.loads(raw)
    except ValueError:
        return mask_text(raw) or ""
    if not isinstance(rec, dict):
        return mask_text(raw) or ""
    parts = []
    for k, v in rec.items():
        if v in (None, "", []):
            continue
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        parts.append(f"{k} : {mask_text(text)}")
    return " · ".join(parts)


def records(
    cat: queries.Catalog, principal, source: str | None, reason: str | None, limit: int = MAX_ROWS
) -> pl.DataFrame:
    """The quarantined records of a source and reason, masked, most recent partitions first."""
    where, params = ["TRUE"], []
    if source:
        where.append("source = ?")
        params.append(source)
    if reason:
        # a reason is `code` or `code:field`: match the code among the list's elements
        where.append("regexp_matches(array_to_string(reasons, '|'), ?)")
        params.append(r"(^|\|)" + re.escape(reason) + r"(:|\||$)")
    df = queries.quarantine_query(
        cat,
        principal,
        "governance.quarantine",
        select="source, partition, file, line, record_id, reasons, raw",
        where=" AND ".join(where),
        params=params,
        order_by="partition DESC, file, line",
        limit=limit,
    )
    return df.with_columns(
        pl.col("raw").map_elements(masked, return_dtype=pl.Utf8).alias("enregistrement"),
        pl.col("reasons").list.join(", ").alias("motifs"),
    ).drop("raw", "reasons")


def purges(cat: queries.Catalog, principal) -> pl.DataFrame:
    return queries.quarantine_query(
        cat,
        principal,
        "governance.quarantine_purges",
        select="purged_at, source, partition, records, retention_days, cutoff",
        order_by="purged_at DESC, source, partition",
    )


def set_retention(principal, days: int) -> dict:
    """The DPO sets the retention; the change is written to the access log (who, from what, to what)."""
    if not principal.may_open(PAGE):
        raise queries.Forbidden("seuls les profils habilités à la page Quarantaine fixent la durée de conservation")
    with store.connect() as con:
        before = retention.current(con)["days"]
        now = retention.set_days(con, days, principal.login or "")
        store.log_access(
            con,
            login=principal.login,
            profile=principal.profile,
            page=PAGE,
            action="reglage_conservation",
            filters={"jours": days},
            detail=f"durée de conservation de la quarantaine: {before} → {days} jours",
        )
    return now


def current_retention() -> dict:
    with store.connect() as con:
        return retention.current(con)
