"""The end-of-demo summary: rows per table, quarantine by reason vs injected defects."""

from __future__ import annotations

import polars as pl

from tranquillite.resources.warehouse import open_catalog
from tranquillite.settings import Paths


def quarantine_vs_injected(p: Paths) -> pl.DataFrame:
    """Per source and defect kind: injected by the generator, found by the platform.

    Exact duplicates are counted in the ledger (kind `doublon_exact`), not quarantined. Records
    purged past the DPO's retention (C2) were found: they count with the quarantine.
    """
    with open_catalog(p.warehouse / "catalog.duckdb") as con:
        found = pl.from_arrow(
            con.sql(
                "SELECT source, reason AS kind, CAST(records AS BIGINT) AS found FROM governance.quarantine_reasons "
                "UNION ALL SELECT source, 'doublon_exact', CAST(duplicates AS BIGINT) FROM governance.data_quality"
            ).to_arrow_table()
        )
    found = pl.concat([found, _purged(p)]).group_by("source", "kind", maintain_order=True).agg(pl.col("found").sum())
    defects = p.truth / "defects.parquet"
    if not defects.exists():
        return found.with_columns(injected=pl.lit(None, dtype=pl.Int64))
    inj = pl.read_parquet(defects).group_by("source", "kind").len().rename({"len": "injected"})
    return (
        inj.join(found, on=["source", "kind"], how="full", coalesce=True)
        .with_columns(pl.col("injected", "found").fill_null(0))
        .sort("source", "kind")
    )


def _purged(p: Paths) -> pl.DataFrame:
    """Records quarantined then purged past the DPO's retention (C2), by reason: still found."""
    from tranquillite.retention import PURGED_TABLE

    path = p.warehouse / "governance" / PURGED_TABLE / "data.parquet"
    empty = pl.DataFrame(schema={"source": pl.Utf8, "kind": pl.Utf8, "found": pl.Int64})
    if not path.exists():
        return empty
    keys = pl.read_parquet(path).unique(subset=["source", "partition", "file", "line"])
    if keys.is_empty():
        return empty
    return (
        keys.explode("reasons")
        .group_by("source", "reasons")
        .len()
        .select("source", pl.col("reasons").alias("kind"), pl.col("len").cast(pl.Int64).alias("found"))
    )


def _landing_files(con, tables) -> pl.DataFrame:
    """Files that could not be given a day, with why (for the data team: the CLI, not the app)."""
    if ("governance", "landing_files") not in tables:
        return pl.DataFrame(schema={"file": pl.Utf8, "unassigned_reason": pl.Utf8, "records": pl.Int64})
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_schema = 'governance' AND table_name = 'landing_files'"
        ).fetchall()
    ]
    if "unassigned_reason" not in cols:
        return pl.DataFrame(schema={"file": pl.Utf8, "unassigned_reason": pl.Utf8, "records": pl.Int64})
    return pl.from_arrow(
        con.sql(
            "SELECT file, unassigned_reason, records FROM governance.landing_files "
            "WHERE unassigned_reason IS NOT NULL ORDER BY file"
        ).to_arrow_table()
    )


def summary(p: Paths, counts: dict[str, int] | None = None) -> str:
    """The summary text; `counts` (table → rows) are row counts already made (the CLI's, which it logs)."""
    counts = counts or {}
    cat = p.warehouse / "catalog.duckdb"
    if not cat.exists():
        return f"aucun catalogue publié dans {cat}: lancer `tranquillite materialize`"
    lines = ["", "== Tables publiées (lignes) =="]
    with open_catalog(cat) as con:
        tables = con.sql(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'main') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            n = counts.get(f"{schema}.{table}")
            if n is None:
                n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            lines.append(f"  {schema}.{table:34} {n:>10,}".replace(",", " "))
        dq = pl.from_arrow(con.sql("SELECT * FROM governance.data_quality ORDER BY source").to_arrow_table())
        files = _landing_files(con, tables)
    lines += ["", "== Bilan par source: lus (compteur indépendant) = propres + quarantaine + doublons exacts =="]
    for r in dq.iter_rows(named=True):
        ok = r["unbalanced_partitions"] == 0 and r["read"] == r["clean"] + r["quarantined"] + r["duplicates"]
        lines.append(
            f"  {r['source']:26} lus {r['read']:>8}  propres {r['clean']:>8}  quarantaine "
            f"{r['quarantined']:>6}  doublons {r['duplicates']:>4}  {'OK' if ok else 'DÉSÉQUILIBRE'}"
        )
    if "changed_files" in dq.columns:
        lines += ["", "== Fichiers déposés: versions après ingestion, fichiers sans jour d'export valide =="]
        for r in dq.iter_rows(named=True):
            lines.append(
                f"  {r['source']:26} fichiers {r['files']:>5}  modifiés après ingestion "
                f"{r['changed_files']:>3} (+{r['rows_added']} −{r['rows_removed']} ~{r['rows_modified']} "
                f"enregistrements)  sans jour valide {r['unassigned_files']:>3}"
            )
    for r in files.iter_rows(named=True):
        lines.append(f"    non ingéré: {r['file']} — {r['unassigned_reason']} ({r['records']} enregistrement(s))")
    lines += [
        "",
        "== Rejets par raison: injectés par le générateur / trouvés par la plateforme ==",
        "   (doublon_exact: comptés comme doublons, pas mis en quarantaine)",
    ]
    for s, k, inj, q in quarantine_vs_injected(p).select("source", "kind", "injected", "found").iter_rows():
        if inj is None:  # real data: nothing was injected
            lines.append(f"  {s:26} {k:30} trouvés {q:>5}")
            continue
        flag = "" if inj == q else "  ← écart"
        lines.append(f"  {s:26} {k:30} injectés {inj:>5}  trouvés {q:>5}{flag}")
    return "\n".join(lines)
