"""Real-format adapters: read the landing zone exactly as partners and the City drop it.

A landing file belongs to the daily partition named by the first `AAAA-MM-JJ` in its path
(`interventions_2025-03-08.csv`, `cortege/2025-03-08/PP-…_v2.json`). Reading never loses a
record: a line that cannot be decoded or split, or the broken tail of a truncated JSON file,
becomes a raw record carrying a `_parse_error`, which the clean step quarantines whole.
File-level problems (empty file, non UTF-8 encoding, unexpected columns) are reported as
`FileIssue`s.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tranquillite.contracts import Contract, contracts_for_source

DATE_IN_PATH = re.compile(r"(\d{4}-\d{2}-\d{2})")
CSV_SEPARATOR = ";"
LINEAGE_COLUMNS = ["_source", "_partition", "_file", "_line", "_raw", "_parse_error"]


class LandingError(ValueError):
    """A landing file cannot be assigned or read at all."""


@dataclass
class FileIssue:
    file: str
    kind: str
    message: str


@dataclass
class FileRead:
    path: Path
    partition: str
    sha256: str
    bytes: int
    records: pl.DataFrame
    issues: list[FileIssue] = field(default_factory=list)


def partition_of(path: Path) -> str | None:
    m = DATE_IN_PATH.search(path.as_posix())
    return m.group(1) if m else None


def source_files(landing: Path, source: str) -> list[Path]:
    root = landing / source
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "~")))


def files_by_partition(landing: Path, source: str) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in source_files(landing, source):
        key = partition_of(p.relative_to(landing))
        if key is not None:
            out.setdefault(key, []).append(p)
    return out


def undated_files(landing: Path, source: str) -> list[Path]:
    return [p for p in source_files(landing, source) if partition_of(p.relative_to(landing)) is None]


def source_columns(source: str) -> list[str]:
    """Raw columns of a source: the union of its contracts' landing headers, in order."""
    cols: list[str] = []
    for c in contracts_for_source(source):
        for h in c.headers:
            if h not in cols:
                cols.append(h)
    return cols


def _frame(rows: list[dict], columns: list[str], source: str, partition: str, file: str) -> pl.DataFrame:
    schema = {c: pl.Utf8 for c in columns} | {
        "_source": pl.Utf8, "_partition": pl.Utf8, "_file": pl.Utf8, "_line": pl.Int64,
        "_raw": pl.Utf8, "_parse_error": pl.Utf8}
    if not rows:
        return pl.DataFrame(schema=schema)
    df = pl.DataFrame(rows, schema=schema, orient="row" if isinstance(rows[0], list) else None)
    return df.with_columns(_source=pl.lit(source), _partition=pl.lit(partition), _file=pl.lit(file))


def _decode_lines(data: bytes, file: str, issues: list[FileIssue]) -> list[tuple[str, bool]]:
    """Decode line by line: UTF-8 (with or without BOM) first, Windows-1252 as a fallback."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out: list[tuple[str, bool]] = []
    bad = 0
    for raw in data.splitlines():
        try:
            out.append((raw.decode("utf-8"), False))
        except UnicodeDecodeError:
            out.append((raw.decode("cp1252", errors="replace"), True))
            bad += 1
    if bad:
        issues.append(FileIssue(file, "encodage_invalide",
                                f"{bad} ligne(s) non UTF-8, lues en Windows-1252 et mises en quarantaine"))
    return out


def read_csv_file(path: Path, source: str, partition: str, file_label: str) -> FileRead:
    data = path.read_bytes()
    issues: list[FileIssue] = []
    columns = source_columns(source)
    meta = dict(path=path, partition=partition, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    if not data.strip():
        issues.append(FileIssue(file_label, "fichier_vide", "fichier vide: aucun enregistrement"))
        return FileRead(records=_frame([], columns, source, partition, file_label), issues=issues, **meta)
    lines = _decode_lines(data, file_label, issues)
    header_text, header_bad = lines[0]
    header = next(csv.reader([header_text], delimiter=CSV_SEPARATOR))
    header = [h.strip() for h in header]
    if header_bad:
        issues.append(FileIssue(file_label, "entete_illisible", "en-tête non UTF-8: colonnes reconnues après décodage Windows-1252"))
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns]
    if missing:
        issues.append(FileIssue(file_label, "colonnes_manquantes", f"colonnes absentes: {missing}"))
    if extra:
        issues.append(FileIssue(file_label, "colonnes_inattendues", f"colonnes ignorées (conservées dans _raw): {extra}"))
    body = [t for t, _ in lines[1:]]
    flags = [b for _, b in lines[1:]]
    rows: list[dict] = []
    # csv.reader is implemented in C; records are joined back to their physical line numbers
    for i, (values, bad) in enumerate(zip(csv.reader(body, delimiter=CSV_SEPARATOR), flags), start=2):
        if not values or all(not v.strip() for v in values):
            continue
        rec = dict(zip(header, values))
        err = None
        if bad:
            err = "encodage_invalide"
        elif len(values) != len(header):
            err = f"nombre_de_colonnes_incorrect:{len(values)}/{len(header)}"
        row = {c: (rec.get(c) or None) for c in columns}
        row["_line"] = i
        row["_raw"] = json.dumps(rec if len(values) == len(header) else {"_valeurs": values},
                                 ensure_ascii=False)
        row["_parse_error"] = err
        rows.append(row)
    return FileRead(records=_frame(rows, columns, source, partition, file_label), issues=issues, **meta)


def _json_value(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v if v.strip() else None
    return json.dumps(v, ensure_ascii=False)


def _salvage_json_array(text: str) -> tuple[list, str | None]:
    """Decode the complete objects of a (possibly truncated) JSON array; return the broken tail."""
    dec = json.JSONDecoder()
    items: list = []
    i = text.index("[") + 1
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            return items, None
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            return items, text[i:]
        items.append(obj)
    return items, None


def read_json_file(path: Path, source: str, partition: str, file_label: str) -> FileRead:
    data = path.read_bytes()
    issues: list[FileIssue] = []
    columns = source_columns(source)
    meta = dict(path=path, partition=partition, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    if not data.strip():
        issues.append(FileIssue(file_label, "fichier_vide", "fichier vide: aucune entrée"))
        return FileRead(records=_frame([], columns, source, partition, file_label), issues=issues, **meta)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        issues.append(FileIssue(file_label, "encodage_invalide", "fichier non UTF-8, lu en Windows-1252"))
    tail = None
    try:
        doc = json.loads(text)
        items = doc if isinstance(doc, list) else doc.get("entries", [doc]) if isinstance(doc, dict) else [doc]
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("["):
            items, tail = _salvage_json_array(text)
        else:
            items, tail = [], text
        issues.append(FileIssue(file_label, "json_invalide",
                                f"JSON invalide ({exc.msg}, ligne {exc.lineno}, colonne {exc.colno}): "
                                f"{len(items)} entrée(s) complète(s) récupérée(s), la fin illisible est en quarantaine"))
    rows: list[dict] = []
    for k, item in enumerate(items, start=1):
        if isinstance(item, dict):
            row = {c: _json_value(item.get(c)) for c in columns}
            err = None
        else:
            row = {c: None for c in columns}
            err = "entree_non_objet"
        row.update(_line=k, _raw=json.dumps(item, ensure_ascii=False), _parse_error=err)
        rows.append(row)
    if tail is not None and tail.strip():
        row = {c: None for c in columns}
        row.update(_line=len(items) + 1, _raw=tail, _parse_error="json_invalide")
        rows.append(row)
    return FileRead(records=_frame(rows, columns, source, partition, file_label), issues=issues, **meta)


def source_format(source: str) -> str:
    contracts: list[Contract] = contracts_for_source(source)
    if not contracts:
        raise LandingError(f"aucun contrat de données pour la source {source!r}")
    return contracts[0].format


def read_file(path: Path, landing: Path, source: str) -> FileRead:
    label = path.relative_to(landing).as_posix()
    partition = partition_of(path.relative_to(landing))
    if partition is None:
        raise LandingError(f"{label}: aucune date AAAA-MM-JJ dans le chemin, partition inconnue")
    reader = read_json_file if source_format(source) == "json" else read_csv_file
    return reader(path, source, partition, label)


def read_partition(landing: Path, source: str, partition: str) -> tuple[pl.DataFrame, list[FileRead]]:
    """Every record of every landing file of one source and day, plus the per-file reports."""
    files = files_by_partition(landing, source).get(partition, [])
    reads = [read_file(p, landing, source) for p in files]
    frames = [r.records for r in reads]
    if not frames:
        return _frame([], source_columns(source), source, partition, ""), []
    return pl.concat(frames, how="vertical"), reads
