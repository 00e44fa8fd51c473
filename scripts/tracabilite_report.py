"""Per convention, as the *Traçabilité* page computes them: the tables holding its rows (rows, bytes,
partitions), the models trained on it, the files received, and the reads and exports of its rows
from the access log — for the home in `$TRANQUILLITE_HOME`. Counts only, never rows.

    .venv/bin/python scripts/tracabilite_report.py [--json FICHIER]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tranquillite.app_core import queries, store  # noqa: E402
from tranquillite.app_core import tracabilite as T  # noqa: E402
from tranquillite.app_core.rights import Scope, all_conventions, all_sources  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json")
    args = ap.parse_args()
    cat = queries.Catalog.open()
    if not cat.available:
        print(f"aucun catalogue dans {cat.path}: lancer `tranquillite materialize`", file=sys.stderr)
        return 2
    # the figures of every convention (an auditor's scope over every source and convention)
    scope = Scope(
        row_sources=all_sources(), aggregate_sources=all_sources(), conventions=all_conventions(), aggregated_only=False
    )
    out = {}
    with (
        store.connect() as con,
        pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            tbl_width_chars=200,
            tbl_formatting="MARKDOWN",
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ),
    ):
        for c in all_conventions():
            t0 = time.perf_counter()
            lin = T._lineage(cat, _Auditor(scope), c)
            lin = lin if lin is not None else pl.DataFrame(schema=T.LINEAGE_SCHEMA)
            tables, _ = T._tables(lin)
            models, landing = T._models(lin), T._landing(lin)
            reads = T.reads_of(con, c)
            seconds = time.perf_counter() - t0
            print(f"\n## {c} — {T.convention_title(c)}")
            print(
                f"tables: {tables.height} · lignes: {int(tables['Lignes de la convention'].sum() or 0)} · "
                f"octets: {int(tables['Octets'].sum() or 0)} · modèles: {models.height} · fichiers reçus: "
                f"{int(landing['Fichiers'].sum() or 0)} · lectures: {reads.height} (dont exports "
                f"{int(reads['Export'].sum() or 0)}, {reads['Utilisateur'].n_unique()} utilisateurs, "
                f"{int(reads['Lignes'].sum() or 0)} lignes lues) · calculé en {seconds:.2f} s"
            )
            print(
                tables.select(
                    "Nom technique",
                    "Lignes de la convention",
                    "Lignes de la table",
                    "Partitions",
                    "Octets",
                    "Première date",
                    "Dernière date",
                )
            )
            if reads.height:
                print(
                    reads.group_by("Utilisateur", "Page")
                    .agg(pl.len().alias("lectures"), pl.col("Lignes").sum())
                    .sort("Utilisateur", "Page")
                )
            out[c] = {
                "tables": tables.to_dicts(),
                "modeles": models.to_dicts(),
                "fichiers": landing.to_dicts(),
                "lectures": reads.to_dicts(),
            }
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 0


class _Auditor:
    """The scope the figures are computed with (the report's rows through the same gateway)."""

    def __init__(self, scope: Scope):
        self.scope = scope


if __name__ == "__main__":
    sys.exit(main())
