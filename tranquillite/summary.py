"""The end-of-demo summary: rows per table, quarantine by reason vs injected defects."""

from __future__ import annotations

import polars as pl

from tranquillite.resources.warehouse import open_catalog
from tranquillite.settings import Paths


def quarantine_vs_injected(p: Paths) -> pl.DataFrame:
    """Per source and defect kind: injected by the generator, quarantined by the platform."""
    with open_catalog(p.warehouse / "catalog.duckdb") as con:
        q = pl.from_arrow(con.sql("SELECT source, reason, records FROM governance.quarantine_reasons").to_arrow_table())
    q = q.rename({"reason": "kind", "records": "quarantined"})
    defects = p.truth / "defects.parquet"
    if not defects.exists():
        return q.with_columns(injected=pl.lit(None, dtype=pl.Int64))
    inj = (pl.read_parquet(defects).group_by("source", "kind").len().rename({"len": "injected"}))
    return (inj.join(q, on=["source", "kind"], how="full", coalesce=True)
            .with_columns(pl.col("injected", "quarantined").fill_null(0)).sort("source", "kind"))


def summary(p: Paths) -> str:
    cat = p.warehouse / "catalog.duckdb"
    if not cat.exists():
        return f"aucun catalogue publié dans {cat}: lancer `tranquillite materialize`"
    lines = ["", "== Tables publiées (lignes) =="]
    with open_catalog(cat) as con:
        tables = con.sql("SELECT table_schema, table_name FROM information_schema.tables "
                         "WHERE table_schema NOT IN ('information_schema', 'main') ORDER BY 1, 2").fetchall()
        for schema, table in tables:
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            lines.append(f"  {schema}.{table:34} {n:>10,}".replace(",", " "))
        dq = con.sql("SELECT source, \"read\", clean, quarantined, duplicates, unbalanced_partitions "
                     "FROM governance.data_quality ORDER BY source").fetchall()
    lines += ["", "== Bilan par source: lus = propres + quarantaine + doublons exacts =="]
    for s, r, c, q, d, u in dq:
        lines.append(f"  {s:26} lus {r:>8}  propres {c:>8}  quarantaine {q:>6}  doublons {d:>4}  "
                     f"{'OK' if u == 0 and r == c + q + d else 'DÉSÉQUILIBRE'}")
    lines += ["", "== Quarantaine par raison (injectés par le générateur → mis en quarantaine) =="]
    for s, k, inj, q in quarantine_vs_injected(p).select("source", "kind", "injected", "quarantined").iter_rows():
        lines.append(f"  {s:26} {k:30} injectés {inj:>5}  quarantaine {q:>5}")
    return "\n".join(lines)
