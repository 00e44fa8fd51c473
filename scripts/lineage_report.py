"""Per convention: the tables holding its rows (rows, files, bytes, first and last partition) and the
models trained on it, for the home in `$TRANQUILLITE_HOME` — counts only, never rows.

    .venv/bin/python scripts/lineage_report.py [--csv FICHIER] [--json FICHIER]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import polars as pl

from tranquillite.definitions import build_defs
from tranquillite.lineage import convention_lineage, lineage_table, untracked_tables
from tranquillite.settings import paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv")
    ap.add_argument("--json")
    args = ap.parse_args()
    defs = build_defs()
    t0 = time.perf_counter()
    report = convention_lineage(defs, paths().warehouse)
    seconds = time.perf_counter() - t0
    flat = lineage_table(report)
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
    ):
        for c in report.values():
            print(f"\n## {c.convention} — {c.title}")
            print(
                f"contrats: {', '.join(c.contracts)} · sources: {', '.join(c.sources)} · "
                f"assets étiquetés: {len(c.assets)} · modèles appris: {len(c.models)}"
            )
            t = flat.filter((pl.col("convention") == c.convention) & (pl.col("rows") > 0))
            print(
                t.select(
                    "table", "rows", "total_rows", "files", "bytes", "first_partition", "last_partition", "attribution"
                )
            )
            empty = flat.filter((pl.col("convention") == c.convention) & (pl.col("rows") == 0) & pl.col("tagged"))
            if empty.height:
                print("étiquetés sans ligne: " + ", ".join(empty["table"].to_list()))
    print(f"\ntables sans asset: {untracked_tables(defs, paths().warehouse) or 'aucune'}")
    print(f"rapport calculé en {seconds:.2f} s")
    if args.csv:
        flat.write_csv(args.csv)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({k: asdict(v) for k, v in report.items()}, f, ensure_ascii=False, indent=1, default=str)


if __name__ == "__main__":
    main()
