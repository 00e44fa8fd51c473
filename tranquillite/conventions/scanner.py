"""The independent verification scan: does ANY file of the home still hold the convention's data?

Deliberately separate from the deletion code (it imports nothing of `destruction.py`, nor the
warehouse, the store or Dagster): given the salted fingerprints kept before destruction, it opens
every file under `$TRANQUILLITE_HOME` by what it IS, not by where the platform puts things:

* Parquet (any `.parquet`, by its magic bytes): every string, list-of-strings and struct value,
  and the key-value metadata;
* SQLite databases (magic header; the app store, Dagster's run, event and schedule storage):
  every text cell of every table (JSON cells walked), zlib-compressed blobs inflated, AND the raw
  bytes of the file and of its `-wal` journal — deleted rows linger in free pages until VACUUM;
* DuckDB files: every string of every base table and view definition, and the raw bytes;
* JSON, CSV, text, logs: parsed when they parse, decoded text otherwise;
* anything else (model files, pickles, gz): the printable strings of its bytes (inflated if gz);
* the relative path itself; and the SHA-256 of every file against the destroyed files'.

A hit reports the file, where in it and the kind of fingerprint — never the value. The scan is
read-only (SQLite opened `mode=ro`, DuckDB `read_only`, Parquet read).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sqlite3
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from tranquillite.conventions import fingerprints as F

PRINTABLE = re.compile(rb"[\x20-\x7e\x80-\xff]{6,}")
MAX_HITS = 200


@dataclass
class Fingerprints:
    salt: bytes
    ids: set[str]
    values: set[str]
    files: set[str]
    max_id_tokens: int = 1

    @classmethod
    def from_manifest(cls, verification: dict, salt: bytes) -> "Fingerprints":
        fp = verification["fingerprints"]
        return cls(
            salt,
            set(fp["identifiants"]),
            set(fp["valeurs"]),
            set(fp["fichiers_sha256"]),
            int(verification.get("max_id_tokens", 1)),
        )


@dataclass
class ScanResult:
    files: dict[str, int] = field(default_factory=dict)  # per kind of store
    bytes: int = 0
    strings: int = 0
    hits: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_hits(self) -> int:
        return len(self.hits)

    def summary(self) -> dict:
        return {
            "fichiers_examines": dict(sorted(self.files.items())),
            "fichiers_total": sum(self.files.values()),
            "octets_examines": self.bytes,
            "chaines_examinees": self.strings,
            "traces_trouvees": self.n_hits,
            "traces": self.hits[:MAX_HITS],
            "duree_s": round(self.seconds, 2),
        }


class _Matcher:
    def __init__(self, fp: Fingerprints, result: ScanResult) -> None:
        self.fp = fp
        self.result = result
        self.cache: dict[str, str | None] = {}

    def kind_of(self, kind: str, s: str) -> str | None:
        key = kind[0] + s
        if key in self.cache:
            return self.cache[key]
        d = F.digest(self.fp.salt, s)
        hit = None
        if kind == "identifiant" and d in self.fp.ids:
            hit = "identifiant"
        elif kind == "valeur":
            hit = "valeur" if d in self.fp.values else ("identifiant" if d in self.fp.ids else None)
        if len(self.cache) < 2_000_000:
            self.cache[key] = hit
        return hit

    def check(self, s: str, where: str, depth: int = 0) -> None:
        if not s:
            return
        self.result.strings += 1
        st = s.strip()
        if depth < 3 and st[:1] in "{[" and st[-1:] in "}]":
            try:
                self.walk(json.loads(st), where, depth + 1)
            except (ValueError, RecursionError):
                pass
        for kind, cand in F.candidates(s, self.fp.max_id_tokens):
            if kind == "identifiant" and len(cand) < F.MIN_ID_TOKEN_CHARS:
                continue
            hit = self.kind_of(kind, cand)
            if hit:
                self.result.hits.append({"fichier": where, "type": hit, "empreinte": F.digest(self.fp.salt, cand)[:12]})
                return

    def walk(self, obj: Any, where: str, depth: int = 0) -> None:
        if isinstance(obj, str):
            self.check(obj, where, depth)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                self.check(str(k), where, depth)
                self.walk(v, where, depth)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                self.walk(v, where, depth)

    def raw_bytes(self, data: bytes, where: str) -> None:
        seen: set[bytes] = set()
        for m in PRINTABLE.finditer(data):
            b = m.group()
            if b in seen:
                continue
            seen.add(b)
            self.check(b.decode("utf-8", errors="replace"), where, depth=3)


def _kind(path: Path, head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[8:12] == b"DUCK" or path.suffix == ".duckdb":
        return "duckdb"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if path.suffix in (".json", ".csv", ".txt", ".log", ".out", ".err", ".md", ".yaml", ".yml", ".toml", ".tsv"):
        return "texte"
    return "binaire"


def _store_of(rel: Path) -> str:
    top = rel.parts[0] if rel.parts else ""
    return {
        "landing": "zone d'atterrissage",
        "warehouse": "entrepôt",
        "models": "magasin de modèles",
        "app": "magasin de l'application",
        "dagster": "stockage Dagster",
        "exports": "exports",
        "attestations": "attestations",
        "keys": "clés",
        "synthetic_truth": "vérité du générateur",
    }.get(top, "autre")


def _parquet(m: _Matcher, path: Path, where: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for k, v in (pf.schema_arrow.metadata or {}).items():
        m.check(k.decode("utf-8", "replace"), where)
        m.check(v.decode("utf-8", "replace"), where)

    def strings(arr) -> Iterable[str]:
        t = arr.type
        if pa.types.is_dictionary(t):
            arr = arr.cast(t.value_type)
            t = arr.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return [s for s in pc.unique(arr).to_pylist() if s]
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return strings(pc.list_flatten(arr))
        if pa.types.is_struct(t):
            return [s for i in range(t.num_fields) for s in strings(pc.struct_field(arr, [i]))]
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return [b.decode("utf-8", "replace") for b in pc.unique(arr).to_pylist() if b]
        return []

    for rg in range(pf.num_row_groups):
        table = pf.read_row_group(rg)
        for name, col in zip(table.column_names, table.columns):
            for s in strings(col.combine_chunks() if col.num_chunks else col):
                m.check(s, f"{where} [colonne {name}]")


def _sqlite(m: _Matcher, path: Path, where: str) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cur = con.execute(f'SELECT * FROM "{t}"')  # names read from the file's own catalog
            for row in cur:
                for v in row:
                    if isinstance(v, str):
                        m.check(v, f"{where} [table {t}]")
                    elif isinstance(v, bytes):
                        try:
                            m.check(zlib.decompress(v).decode("utf-8", "replace"), f"{where} [table {t}]")
                        except zlib.error:
                            m.raw_bytes(v, f"{where} [table {t}]")
    finally:
        con.close()
    m.raw_bytes(path.read_bytes(), f"{where} [octets]")


def _duckdb(m: _Matcher, path: Path, where: str) -> None:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        m.raw_bytes(path.read_bytes(), f"{where} [octets]")
        return
    try:
        views = con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
        for (sql,) in views:
            m.check(sql or "", f"{where} [vue]")
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, name in tables:
            cols = con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "AND data_type = 'VARCHAR'",
                [schema, name],
            ).fetchall()
            for (c,) in cols:
                q = f'SELECT DISTINCT "{c}" FROM "{schema}"."{name}"'  # names from the file's own catalog
                for (v,) in con.execute(q).fetchall():
                    if v:
                        m.check(v, f"{where} [table {schema}.{name}]")
    finally:
        con.close()
    m.raw_bytes(path.read_bytes(), f"{where} [octets]")


def _text(m: _Matcher, data: bytes, where: str) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        m.walk(json.loads(text), where)
    except ValueError:
        pass
    for line in text.splitlines():
        m.check(line, where)


def scan(home: Path, fp: Fingerprints, exclude: Iterable[Path] = ()) -> ScanResult:
    """Search every file under `home` for the fingerprints (see the module docstring)."""
    t0 = time.perf_counter()
    home = Path(home)
    excluded = {Path(p).resolve() for p in exclude}
    res = ScanResult()
    m = _Matcher(fp, res)
    paths, seen = [], set()
    for root, dirs, names in os.walk(home, followlinks=True):  # a symlinked folder is part of the home too
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        paths += [Path(root) / n for n in names if not (Path(root) / n).is_symlink()]
    for path in sorted(paths):
        if path.resolve() in excluded:
            continue
        rel = path.relative_to(home)
        where = rel.as_posix()
        store = _store_of(rel)
        res.files[store] = res.files.get(store, 0) + 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            res.hits.append({"fichier": where, "type": "illisible", "empreinte": type(exc).__name__})
            continue
        res.bytes += len(data)
        m.check(where, f"{where} [chemin]")
        if fp.files and hashlib.sha256(data).hexdigest() in fp.files:
            res.hits.append({"fichier": where, "type": "fichier détruit restauré", "empreinte": ""})
        kind = _kind(path, data[:16])
        try:
            if kind == "parquet":
                _parquet(m, path, where)
            elif kind == "sqlite":
                _sqlite(m, path, where)
            elif kind == "duckdb":
                _duckdb(m, path, where)
            elif kind == "gzip":
                try:
                    m.raw_bytes(gzip.decompress(data), where)
                except (OSError, EOFError):
                    m.raw_bytes(data, where)
            elif kind == "texte":
                _text(m, data, where)
            else:
                m.raw_bytes(data, where)
        except Exception as exc:  # noqa: BLE001 - an unreadable structure is scanned as bytes, never skipped
            m.raw_bytes(data, f"{where} [octets après {type(exc).__name__}]")
    from tranquillite.app_core import store as app_store

    if app_store.is_postgresql():  # the app's store is not a file of the home: its tables, read here
        with app_store.connect() as con:
            res.files["magasin de l'application"] = res.files.get("magasin de l'application", 0) + 1
            _postgresql(m, con)
    res.seconds = time.perf_counter() - t0
    return res


def _postgresql(m: _Matcher, con) -> None:
    """Every text cell of every table of the app store on PostgreSQL."""
    cols: dict[str, list[str]] = {}
    for t, c in con.execute_native(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND data_type IN ('text', 'character varying') ORDER BY table_name, ordinal_position"
    ):
        cols.setdefault(t, []).append(c)
    for t, names in cols.items():
        where = f"magasin de l'application (PostgreSQL) [table {t}]"
        for row in con.execute_native("SELECT " + ", ".join(f'"{c}"' for c in names) + f' FROM "{t}"'):
            for v in row:  # names from the database's own catalog
                if isinstance(v, str):
                    m.check(v, where)
