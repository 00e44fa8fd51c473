"""Writing the landing files exactly in the formats of the data contracts.

CSV: UTF-8, `;` separator, the contract's `column` labels as header in contract field order,
dates `JJ/MM/AAAA HH:MM`, coordinates with 6 decimals, empty string for null; one file per
export day `<source>_<AAAA-MM-JJ>.csv`. Cortège: `cortege/prefecture_<AAAA-MM-JJ>.json`, a JSON
array of the entries entered that day.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from tranquillite.contracts import Contract

CSV_SOURCES = ("interventions", "alertes_videoprotection", "signalements", "evenements_publics")
OWNED_SOURCES = CSV_SOURCES + ("cortege",)


def clean_landing(home: Path) -> None:
    """Remove what a previous generation wrote: the CSV sources' folders, and the Préfecture
    daily exports of `cortege/` (entries written by the Cortège application are kept)."""
    landing = home / "landing"
    for source in CSV_SOURCES:
        d = landing / source
        if d.is_dir():
            shutil.rmtree(d)
    cortege = landing / "cortege"
    if cortege.is_dir():
        for f in sorted(cortege.glob("prefecture_*.json")):
            f.unlink()


def csv_path(source: str, day: str) -> str:
    """Path of a CSV export, relative to the home directory."""
    return f"landing/{source}/{source}_{day}.csv"


def json_path(day: str) -> str:
    return f"landing/cortege/prefecture_{day}.json"


def write_csv_source(home: Path, contract: Contract, df: pl.DataFrame, days: list[str]) -> list[Path]:
    """One CSV per day of `days` (an empty file has the header only)."""
    out_dir = home / "landing" / contract.source
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in contract.fields]
    rename = {f.name: f.header for f in contract.fields}
    df = df.sort(["_day", "_t", "_row", "_dup"])
    parts = {k[0]: v for k, v in df.partition_by("_day", as_dict=True, maintain_order=True).items()}
    empty = df.clear()
    files = []
    for day in days:
        part = parts.get(day, empty).select(names).rename(rename)
        path = home / csv_path(contract.source, day)
        part.write_csv(path, separator=";", float_precision=6, null_value="", line_terminator="\n")
        files.append(path)
    return files


def write_cortege(home: Path, docs_by_day: dict[str, list[dict[str, Any]]], days: list[str]) -> list[Path]:
    out_dir = home / "landing" / "cortege"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for day in days:
        path = home / json_path(day)
        path.write_text(json.dumps(docs_by_day.get(day, []), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files.append(path)
    return files
