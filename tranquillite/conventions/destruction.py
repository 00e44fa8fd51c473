"""Destroying a convention's data: inventory, fingerprints before, purge of every store (C9).

Nothing here is a hand-written list of tables. What belongs to the convention is found from:

* the contracts' `convention:` key → its landing sources (`cortege`) and contracts (the four
  Préfecture record types): their landing files, and the source-level tables `raw/<source>`,
  `quarantine/<source>`, `clean/<contract>` are removed whole;
* row lineage, in EVERY Parquet file of the home: a row whose `convention` is the convention, whose
  `conventions` list holds it (a derived row mixing it with the City's data is removed, not
  recomputed: removing is the honest default, the next run recomputes it without), whose `source`
  is one of its sources or contracts, or whose `model_version`/`version` names a model trained on
  its data; a remaining cell that IS one of its record ids (a reference, e.g. the generator's
  `surge_event_id`) is emptied;
* the model store: models whose metadata names the convention in their training `conventions`
  (lineage), or — until every model records them — whose features include the planned-event
  exposure of its contracts (`trained_on`, the one function to swap);
* the stores of records: the Cortège registry (`cortege_entries`, purged under the dedicated
  trigger exemption), the access log (lines keep who/when/page/action; their filters and detail
  naming its records are redacted, the chain re-anchored and signed), Dagster's storage (event-log
  rows of the assets holding only its data deleted; every other string naming its records
  redacted; compute logs likewise), then every SQLite file VACUUMed so deleted rows do not linger
  in free pages;
* temporary and `.part` files, and the DuckDB catalog (rebuilt).

A Parquet table with none of these columns and no known source is reported as « non traçable »
(never silently skipped); the independent scan then says whether it holds anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl

from tranquillite import landing as landing_io
from tranquillite.contracts import Contract, load_contracts
from tranquillite.conventions import fingerprints as F

REDACTED = "[supprimé: données de la convention {convention} détruites]"
SOURCE_LEVEL_LAYERS = ("raw", "clean", "quarantine")
TEXT_TYPES = ("text", "string", "address", "address_list", "geometry")
MODEL_REF_COLUMNS = ("model_version", "version")
TEMP_PATTERNS = (".tmp-*", "*.part", ".catalog-*")
ALERTS_TABLE = ("indicators", "alerts")  # the published alerts (their ids are the app store's alert_id)
# the alerts' tables of the app store (migration 0003): the history redacted (comment, detail),
# the e-mail records of the alerts drawn from the data deleted, under the purge exemption
ALERT_EVENTS, ALERT_NOTIFICATIONS = "alert_events", "alert_notifications"
ALERT_STATE_TABLES = ("alert_followups", "alert_reads")
ALERTS_PAGE = "alertes"
ALERT_FREE_TEXTS = ("action", "comment", "commentaire")  # free texts of an alert's step (app_core/alertes.py)


# --------------------------------------------------------------------------- what the convention is
@dataclass(frozen=True)
class Target:
    convention: str
    landing_sources: frozenset[str]
    contracts: tuple[Contract, ...]

    @classmethod
    def of(cls, convention: str) -> "Target":
        cs = tuple(c for c in load_contracts().values() if c.convention == convention)
        if not cs:
            raise LookupError(f"aucun contrat ne relève de la convention {convention!r}")
        return cls(convention, frozenset(c.source for c in cs), cs)

    @property
    def contract_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.contracts)

    @property
    def source_names(self) -> frozenset[str]:
        return self.landing_sources | self.contract_names

    @property
    def record_types(self) -> frozenset[str]:
        return frozenset(c.record_type for c in self.contracts if c.record_type)

    def is_source_table(self, layer: str, table: str) -> bool:
        return layer in SOURCE_LEVEL_LAYERS and table in self.source_names


def trained_on(meta: dict, target: Target) -> bool:
    """Was this model trained on the convention's data? The model store's training conventions
    when recorded (lineage), else: its features include planned-event exposure of its contracts."""
    if "conventions" in meta:
        return target.convention in (meta.get("conventions") or [])
    prefixes = tuple(f"ev_{c}_" for c in target.contract_names)
    return any(str(f).startswith(prefixes) for f in meta.get("features") or [])


# --------------------------------------------------------------------------- helpers
def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def digest_of(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()


def _atomic_parquet(df: pl.DataFrame, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".parquet.part")
    os.close(fd)
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _utf8_columns(schema: dict) -> list[str]:
    return [c for c, t in schema.items() if t in (pl.Utf8, pl.String)]


# --------------------------------------------------------------------------- inventory & fingerprints
@dataclass
class Collected:
    """The convention's record ids and distinctive values, read before anything is deleted."""

    ids: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)
    landing_files: list[Path] = field(default_factory=list)
    file_sha256: dict[str, str] = field(default_factory=dict)  # relative path → sha256 of destroyed files
    destroyed_models: set[str] = field(default_factory=set)
    alert_ids: set[str] = field(default_factory=set)  # published alerts drawn from its data

    def max_id_tokens(self) -> int:
        return max((len(k.split(F.TOKEN_SEP)) for k in (F.id_key(i) for i in self.ids) if k), default=1)


def _contract_columns(c: Contract) -> tuple[list[str], list[str]]:
    """(id columns, distinctive text columns) of a contract, in clean names and raw headers."""
    idf = c.field(c.id_field)
    texts = [f for f in c.fields if f.type in TEXT_TYPES]
    return [idf.name, idf.header], [x for f in texts for x in (f.name, f.header)]


def _strings(df: pl.DataFrame, cols: list[str]) -> set[str]:
    out: set[str] = set()
    for col in cols:
        if col not in df.columns:
            continue
        s = df.get_column(col)
        if isinstance(s.dtype, pl.List):
            s = s.explode()
        if s.dtype in (pl.Utf8, pl.String):
            out |= {v for v in s.drop_nulls().unique().to_list() if v and v.strip()}
    return out


def collect(home: Path, target: Target, store_con: sqlite3.Connection | None = None) -> Collected:
    """Every record id and distinctive value of the convention, from its landing files (read or
    not), its source-level tables and the Cortège registry; values also found in the other
    sources' data are dropped (they are not distinctive: the City holds them too)."""
    home = Path(home)
    out = Collected()
    landing = home / "landing"
    wh = home / "warehouse"
    ids: set[str] = set()
    values: set[str] = set()
    id_cols = sorted({c for ct in target.contracts for c in _contract_columns(ct)[0]} | {"record_id"})
    text_cols = sorted({c for ct in target.contracts for c in _contract_columns(ct)[1]})
    for src in sorted(target.landing_sources):
        for p in sorted(q for q in (landing / src).rglob("*") if q.is_file()) if (landing / src).exists() else []:
            out.landing_files.append(p)
            if p.stat().st_size:
                out.file_sha256[p.relative_to(home).as_posix()] = sha256_file(p)
            if p.name.startswith((".", "~")):
                continue
            try:
                df = landing_io.read_file(p, landing, src).records
            except Exception:  # noqa: BLE001 - an unreadable file is still destroyed (its bytes fingerprinted)
                continue
            ids |= _strings(df, id_cols)
            values |= _strings(df, text_cols)
    for layer in SOURCE_LEVEL_LAYERS:
        for name in sorted(target.source_names):
            d = wh / layer / name
            if d.exists():
                for f in d.glob("*.parquet"):
                    if _rows(f):  # an empty partition holds no record: not a fingerprint of its data
                        out.file_sha256[f.relative_to(home).as_posix()] = sha256_file(f)
                for f in sorted(d.glob("*.parquet")):
                    df = pl.read_parquet(f)
                    ids |= _strings(df, id_cols)
                    values |= _strings(df, text_cols)
    if store_con is not None:
        types = sorted(target.record_types)
        ids |= {
            r[0]
            for r in store_con.execute(
                "SELECT entry_id FROM cortege_entries WHERE record_type IN (SELECT value FROM json_each(?))",
                (json.dumps(types),),
            )
        }
    values = {v for v in values if len(F.normalise(v)) >= F.MIN_VALUE_CHARS}
    # not distinctive: the same string in another source's data (an address the City also has)
    others = [c for c in load_contracts().values() if c.convention != target.convention]
    for c in others:
        for layer, name in (("clean", c.name), ("raw", c.source)):
            d = wh / layer / name
            if not d.exists() or not (ids or values):
                continue
            lf = pl.scan_parquet(str(d / "*.parquet"), missing_columns="insert", extra_columns="ignore")
            cols = _utf8_columns(lf.collect_schema())
            if not cols:
                continue
            cand = sorted(ids | values)
            found = lf.select(
                [pl.col(col).filter(pl.col(col).is_in(cand)).unique().implode().alias(col) for col in cols]
            ).collect()
            common = {v for col in cols for v in (found.get_column(col).to_list()[0] or [])}
            ids -= common
            values -= common
    out.ids = ids
    out.values = values
    out.alert_ids = _alerts_of(wh, target)
    return out


def _alerts_of(wh: Path, target: Target) -> set[str]:
    """The published alerts drawn from the convention's data (their lineage holds it): what the app
    store holds about them (follow-up, history, e-mails) goes with them."""
    d = wh.joinpath(*ALERTS_TABLE)
    files = sorted(d.glob("*.parquet")) if d.exists() else []
    if not files:
        return set()
    lf = pl.scan_parquet([str(f) for f in files])
    schema = lf.collect_schema()
    if "alert_id" not in schema:
        return set()
    expr, _ = _remove_expr(dict(schema), target, set())
    if expr is None:
        return set()
    return set(lf.filter(expr).select("alert_id").collect().get_column("alert_id").drop_nulls().to_list())


def fingerprints(collected: Collected, salt: bytes) -> dict[str, Any]:
    id_keys = {k for k in (F.id_key(i) for i in collected.ids) if k}
    short_ids = {i for i in collected.ids if F.id_key(i) is None}
    return {
        "identifiants": F.fingerprint_set(salt, id_keys),
        "valeurs": F.fingerprint_set(salt, collected.values | short_ids),
        "fichiers_sha256": sorted(set(collected.file_sha256.values())),
    }


# --------------------------------------------------------------------------- the deletion side's matcher
class Redactor:
    """Does a string name the convention's records? (the deletion's own test, on clear values)"""

    def __init__(self, collected: Collected, convention: str) -> None:
        self.ids = {k for k in (F.id_key(i) for i in collected.ids) if k}
        self.whole = {F.normalise(v) for v in collected.values | collected.ids}
        self.n = collected.max_id_tokens()
        self.marker = REDACTED.format(convention=convention)
        # a cheap first test: a string can only name a record if it holds one of these tokens (every
        # token of an id, the longest token of each value); tokenising is one C-level regex pass
        self.anchors = {tok for k in self.ids for tok in k.split(F.TOKEN_SEP)}
        self.prefilter = True
        for v in self.whole:
            toks = F.tokens(v)
            if toks:
                self.anchors.add(max(toks, key=len))
            else:
                self.prefilter = False  # a value without any token: every string is checked in full

    def maybe(self, s: str) -> bool:
        return not self.prefilter or not self.anchors.isdisjoint(F.TOKEN.findall(s))

    def names(self, s: str) -> bool:
        if not self.maybe(s):
            return False
        for kind, cand in F.candidates(s, self.n):
            if (kind == "valeur" and F.normalise(cand) in self.whole) or (kind == "identifiant" and cand in self.ids):
                return True
        return False

    def redact(self, obj: Any) -> tuple[Any, int]:
        """Replace every string (key or value) naming the records; returns (object, count)."""
        if isinstance(obj, str):
            if not self.maybe(obj):
                return obj, 0
            st = obj.strip()
            if st[:1] in "{[" and st[-1:] in "}]":
                try:
                    inner, n = self.redact(json.loads(st))
                    if n:
                        return json.dumps(inner, ensure_ascii=False), n
                except ValueError:
                    pass
            return (self.marker, 1) if self.names(obj) else (obj, 0)
        if isinstance(obj, dict):
            out, total = {}, 0
            for k, v in obj.items():
                nv, n = self.redact(v)
                if isinstance(k, str) and self.names(k):
                    k, n = f"{self.marker} {total}", n + 1
                out[k] = nv
                total += n
            return out, total
        if isinstance(obj, list):
            items = [self.redact(v) for v in obj]
            return [i[0] for i in items], sum(i[1] for i in items)
        return obj, 0


# --------------------------------------------------------------------------- report
@dataclass
class Report:
    items: list[dict] = field(default_factory=list)
    not_traceable: list[dict] = field(default_factory=list)

    def add(self, store: str, element: str, action: str, **counts: Any) -> None:
        self.items.append({"magasin": store, "element": element, "action": action, **counts})

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for it in self.items:
            t = out.setdefault(it["magasin"], {})
            for k, v in it.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    t[k] = t.get(k, 0) + v
            t["elements"] = t.get("elements", 0) + 1
        return out


# --------------------------------------------------------------------------- stores
def purge_landing(home: Path, target: Target, collected: Collected, rep: Report) -> None:
    for src in sorted(target.landing_sources):
        root = Path(home) / "landing" / src
        files = [p for p in collected.landing_files if root in p.parents]
        extra = [p for p in root.rglob("*") if p.is_file() and p not in files] if root.exists() else []
        for p in extra:  # arrived between inventory and purge: still the convention's
            if p.stat().st_size:
                collected.file_sha256[p.relative_to(home).as_posix()] = sha256_file(p)
        allf = files + extra
        n_bytes = sum(p.stat().st_size for p in allf if p.exists())
        shas = [collected.file_sha256.get(p.relative_to(home).as_posix(), "") for p in allf]
        if root.exists():
            shutil.rmtree(root)
        rep.add(
            "zone d'atterrissage",
            f"landing/{src}/",
            "fichiers supprimés",
            fichiers=len(allf),
            octets=n_bytes,
            empreinte=digest_of(shas),
        )


def home_files(home: Path) -> list[Path]:
    """Every file under the home, following symlinked folders (a warehouse on another volume)."""
    out, seen = [], set()
    for root, dirs, files in os.walk(home, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        out += [Path(root) / f for f in files]
    return sorted(out)


def _parquet_tables(home: Path) -> dict[str, list[Path]]:
    """Every Parquet file of the home, by table (a warehouse table folder, or the file itself)."""
    out: dict[str, list[Path]] = {}
    for p in (f for f in home_files(home) if f.suffix == ".parquet"):
        if p.name.startswith("."):
            continue
        rel = p.relative_to(home)
        key = "/".join(rel.parts[:3]) if rel.parts[0] == "warehouse" and len(rel.parts) >= 4 else rel.as_posix()
        out.setdefault(key, []).append(p)
    return out


def _remove_expr(schema: dict, target: Target, destroyed_models: set[str]) -> tuple[pl.Expr | None, list[str]]:
    """Rows of the convention, by row lineage: the expression and the columns it used."""
    exprs, used = [], []
    if schema.get("convention") in (pl.Utf8, pl.String):
        exprs.append(pl.col("convention") == target.convention)
        used.append("convention")
    t = schema.get("conventions")
    if isinstance(t, pl.List):
        exprs.append(pl.col("conventions").list.contains(target.convention).fill_null(False))
        used.append("conventions")
    for col in ("source", "_source"):
        if schema.get(col) in (pl.Utf8, pl.String):
            exprs.append(pl.col(col).is_in(sorted(target.source_names)))
            used.append(col)
    for col in MODEL_REF_COLUMNS:
        if schema.get(col) in (pl.Utf8, pl.String) and destroyed_models:
            exprs.append(
                pl.col(col)
                .str.split("+")
                .list.eval(pl.element().is_in(sorted(destroyed_models)))
                .list.any()
                .fill_null(False)
            )
            used.append(col)
    if not exprs:
        return None, used
    e = exprs[0]
    for x in exprs[1:]:
        e = e | x
    return e.fill_null(False), used


def purge_parquet(home: Path, target: Target, collected: Collected, rep: Report) -> None:
    home = Path(home)
    ids = sorted(collected.ids)
    for table, files in _parquet_tables(home).items():
        parts = table.split("/")
        store = (
            "entrepôt"
            if parts[0] == "warehouse"
            else {"synthetic_truth": "vérité du générateur", "exports": "exports"}.get(parts[0], parts[0])
        )
        if parts[0] == "warehouse" and len(parts) == 3 and target.is_source_table(parts[1], parts[2]):
            import pyarrow.parquet as pq

            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            n_bytes = sum(f.stat().st_size for f in files)
            shas = [sha256_file(f) for f in files]
            collected.file_sha256.update({f.relative_to(home).as_posix(): s for f, s in zip(files, shas) if _rows(f)})
            shutil.rmtree(files[0].parent)
            rep.add(
                store,
                f"{parts[1]}.{parts[2]}",
                "table supprimée (source de la convention)",
                partitions=len(files),
                lignes=rows,
                octets=n_bytes,
                empreinte=digest_of(shas),
            )
            continue
        removed = emptied = refs = 0
        used: list[str] = []
        shas: list[str] = []
        for f in files:
            df = pl.read_parquet(f)
            expr, used = _remove_expr(dict(df.schema), target, collected.destroyed_models)
            out = df.filter(~expr) if expr is not None else df
            n_rm = df.height - out.height
            n_ref = 0
            if ids:
                for col in _utf8_columns(dict(out.schema)):
                    hit = out.get_column(col).is_in(ids)
                    k = int(hit.sum())
                    if k:
                        out = out.with_columns(pl.when(hit).then(None).otherwise(pl.col(col)).alias(col))
                        n_ref += k
            if n_rm or n_ref:
                shas.append(sha256_file(f))
                if out.height == 0:
                    f.unlink()
                    emptied += 1
                else:
                    _atomic_parquet(out, f)
            removed += n_rm
            refs += n_ref
        label = table.replace("warehouse/", "").replace("/", ".", 1) if parts[0] == "warehouse" else table
        other_source = (
            parts[0] == "warehouse"
            and len(parts) == 3
            and parts[1] in SOURCE_LEVEL_LAYERS
            and parts[2] in _all_source_names()
        )
        if not used and not refs and not other_source:
            rep.not_traceable.append(
                {
                    "magasin": store,
                    "table": label,
                    "raison": "aucune colonne convention, conventions, source ni version de modèle",
                }
            )
            continue
        if removed or refs:
            rep.add(
                store,
                label,
                "lignes supprimées" if removed else "références effacées",
                lignes=removed,
                references_effacees=refs,
                partitions_videes=emptied,
                partitions_reecrites=len(shas) - emptied,
                lignage=",".join(used),
                empreinte=digest_of(shas),
            )
        for d in {f.parent for f in files}:
            if d.exists() and not any(d.iterdir()) and parts[0] == "warehouse":
                d.rmdir()


def _all_source_names() -> set[str]:
    return {x for c in load_contracts().values() for x in (c.source, c.name)}


def purge_models(
    home: Path, target: Target, collected: Collected, rep: Report, trained: Callable[[dict, Target], bool] = trained_on
) -> None:
    root = Path(home) / "models"
    if not root.exists():
        return
    shas, n_files, n_bytes = [], 0, 0
    for meta_path in sorted(root.glob("*/*/*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if trained(meta, target):
            collected.destroyed_models.add(str(meta.get("version")))
            for f in meta_path.parent.rglob("*"):
                if f.is_file():
                    shas.append(sha256_file(f))
                    n_files += 1
                    n_bytes += f.stat().st_size
            shutil.rmtree(meta_path.parent)
    for d in sorted(root.glob("*/*"), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    rep.add(
        "magasin de modèles",
        "models/",
        "modèles supprimés (entraînés sur ses données)",
        modeles=len(collected.destroyed_models),
        fichiers=n_files,
        octets=n_bytes,
        empreinte=digest_of(shas),
    )


def purge_temporary(home: Path, rep: Report) -> None:
    import fnmatch

    found = {
        p
        for p in home_files(home)
        for pat in TEMP_PATTERNS
        if fnmatch.fnmatch(p.name, pat) and p.relative_to(home).parts[0] != "dagster"
    }
    found |= {d for d in Path(home).glob("*/.tmp-*") if d.is_dir()} | {d for d in Path(home).glob("models/.tmp-*")}
    n_bytes = 0
    for p in sorted(found, key=lambda x: len(x.parts), reverse=True):
        if p.is_dir():
            n_bytes += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            n_bytes += p.stat().st_size
            p.unlink()
    rep.add("fichiers temporaires", "*.part, .tmp-*, .catalog-*", "supprimés", fichiers=len(found), octets=n_bytes)


def vacuum(path: Path) -> None:
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 60000")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def _redacted_cells(cols: list[str], vals, red: Redactor) -> dict:
    """The cells of one row that name the destroyed records, redacted: {column: new value}. Texts
    (a JSON value redacted is dumped back), and zlib-compressed texts (Dagster's SQLite blobs)
    recompressed; any other value is left as is."""
    changes = {}
    for c, v in zip(cols, vals):
        if isinstance(v, str) and v:
            nv, n = red.redact(v)
            if n:
                changes[c] = nv if isinstance(nv, str) else json.dumps(nv, ensure_ascii=False)
        elif isinstance(v, bytes) and v:
            try:
                text = zlib.decompress(v).decode("utf-8")
            except Exception:  # noqa: BLE001 - not a compressed text: left as is
                continue
            nv, n = red.redact(text)
            if n:
                changes[c] = zlib.compress((nv if isinstance(nv, str) else json.dumps(nv)).encode("utf-8"))
    return changes


def redact_sqlite(
    path: Path, red: Redactor, skip_tables: Iterable[str] = (), delete_asset_keys: Iterable[str] = ()
) -> dict[str, int]:
    """In one SQLite file: delete the rows of `delete_asset_keys` (tables with an `asset_key`
    column) and redact every text cell naming the records; VACUUM. Returns counts."""
    keys = sorted(delete_asset_keys)
    counts = {"lignes_supprimees": 0, "cellules_expurgees": 0}
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 60000")
        con.execute("PRAGMA secure_delete = ON")
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
        con.execute("BEGIN IMMEDIATE")
        try:
            for t in tables:
                if t in skip_tables:
                    continue
                cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]  # names from the file's catalog
                if keys and "asset_key" in cols:
                    cur = con.execute(
                        f'DELETE FROM "{t}" WHERE asset_key IN (SELECT value FROM json_each(?))', (json.dumps(keys),)
                    )
                    counts["lignes_supprimees"] += max(cur.rowcount, 0)
                pending = [
                    (rowid, ch)
                    for rowid, *vals in con.execute(f'SELECT rowid, * FROM "{t}"')
                    if (ch := _redacted_cells(cols, vals, red))
                ]
                for rowid, changes in pending:
                    sets = ", ".join(f'"{c}" = ?' for c in changes)
                    con.execute(f'UPDATE "{t}" SET {sets} WHERE rowid = ?', (*changes.values(), rowid))
                    counts["cellules_expurgees"] += len(changes)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    vacuum(path)
    return counts


def redact_store_tables(con, red: Redactor, skip_tables: Iterable[str] = ()) -> dict[str, int]:
    """`redact_sqlite` for the app store on PostgreSQL: every text cell naming the records, in every
    table of the store's schema but `skip_tables`, redacted in one transaction (the caller's role
    must own the schema: the app's role may not rewrite the append-only tables)."""
    counts = {"lignes_supprimees": 0, "cellules_expurgees": 0}
    cols: dict[str, list[str]] = {}
    for t, c in con.execute_native(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = current_schema() "
        "AND t.table_type = 'BASE TABLE' AND c.data_type IN ('text', 'character varying') "
        "ORDER BY c.table_name, c.ordinal_position"
    ):
        if t not in skip_tables and t != "alembic_version":
            cols.setdefault(t, []).append(c)
    from tranquillite.app_core import store

    with store.transaction(con):
        for t, names in cols.items():
            q = ", ".join(f'"{c}"' for c in names)  # names from the database's own catalog
            pending = [
                (ctid, ch)
                for ctid, *vals in con.execute_native(f'SELECT ctid::text, {q} FROM "{t}"')
                if (ch := _redacted_cells(names, vals, red))
            ]
            for ctid, changes in pending:
                sets = ", ".join(f'"{c}" = %s' for c in changes)
                con.execute_native(f'UPDATE "{t}" SET {sets} WHERE ctid = %s::tid', (*changes.values(), ctid))
                counts["cellules_expurgees"] += len(changes)
    return counts


def redact_text_file(path: Path, red: Redactor) -> int:
    """A log or compute-log file: lines naming the records are replaced by the marker."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    n = 0
    for i, line in enumerate(lines):
        if red.names(line):
            lines[i] = red.marker + "\n"
            n += 1
    if n:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp, path)
    return n


def purge_dagster(
    dagster_home: Path, red: Redactor, asset_keys_only_its: list[list[str]], rep: Report, skip: Iterable[Path] = ()
) -> None:
    """Dagster's storage: every SQLite file (runs, event logs, schedules) and the compute logs."""
    skip = {Path(p).resolve() for p in skip}
    keys = [json.dumps(k) for k in asset_keys_only_its]
    dbs = [p for p in Path(dagster_home).rglob("*.db") if p.resolve() not in skip]
    tot = {"lignes_supprimees": 0, "cellules_expurgees": 0}
    for db in sorted(dbs):
        with open(db, "rb") as fh:
            if not fh.read(16).startswith(b"SQLite format 3"):
                continue
        c = redact_sqlite(db, red, delete_asset_keys=keys)
        for k in tot:
            tot[k] += c[k]
    lines = 0
    logs = [p for p in Path(dagster_home).rglob("*") if p.is_file() and p.suffix in (".out", ".err", ".log")]
    for p in logs:
        lines += redact_text_file(p, red)
    rep.add(
        "stockage Dagster",
        "dagster/ (historique, journaux d'événements, planification)",
        "entrées supprimées et expurgées",
        bases=len(dbs),
        entrees_supprimees=tot["lignes_supprimees"],
        valeurs_expurgees=tot["cellules_expurgees"],
        lignes_de_journaux_expurgees=lines,
        actifs_effaces=len(asset_keys_only_its),
    )


# --------------------------------------------------------------------------- the app store
def open_purge(con: sqlite3.Connection, convention: str, ordered_by: str, run_by: str) -> int:
    from tranquillite.app_core import store

    with store.transaction(con):
        cur = con.execute(
            "INSERT INTO convention_purges (convention, ordered_by, run_by, started_at, status) "
            "VALUES (?, ?, ?, ?, 'en_cours')",
            (convention, ordered_by, run_by, store.iso(store.now_utc())),
        )
        pid = int(cur.lastrowid)
    store.log_access(
        con,
        login=run_by,
        profile="public",
        page="destruction",
        action="destruction_commencee",
        detail=json.dumps({"convention": convention, "ordonnee_par": ordered_by, "destruction": pid}),
    )
    return pid


def close_purge(con: sqlite3.Connection, purge_id: int, status: str, summary: dict) -> None:
    from tranquillite.app_core import store

    with store.transaction(con):
        con.execute(
            "UPDATE convention_purges SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
            (status, store.iso(store.now_utc()), json.dumps(summary, ensure_ascii=False, sort_keys=True), purge_id),
        )
    row = con.execute("SELECT convention, run_by FROM convention_purges WHERE id = ?", (purge_id,)).fetchone()
    store.log_access(
        con,
        login=row["run_by"],
        profile="public",
        page="destruction",
        action=f"destruction_{status}",
        detail=json.dumps(
            {"convention": row["convention"], "destruction": purge_id, **summary}, ensure_ascii=False, sort_keys=True
        ),
    )


def _free_texts(detail: str | None, marker: str) -> str | None:
    """A JSON detail of an alert's step with its free texts (the action taken, a comment) replaced by
    the marker; None when it has none (or is not a JSON object)."""
    try:
        d = json.loads(detail or "")
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    texts = {k: marker for k in ALERT_FREE_TEXTS if isinstance(d.get(k), str) and d[k] and d[k] != marker}
    return json.dumps({**d, **texts}, ensure_ascii=False, sort_keys=True) if texts else None


def _redact_alert_texts(detail: str, alert_ids: set[str], marker: str) -> str | None:
    """An access-log line of the Alertes page about an alert drawn from the data: its free texts
    replaced by the marker; None when the line is not such a one."""
    try:
        about = json.loads(detail).get("alerte")
    except (ValueError, AttributeError):
        return None
    return _free_texts(detail, marker) if about in alert_ids else None


def _alert_event_redactions(con, red: Redactor, alert_ids: set[str]) -> list[tuple[int, dict[str, str]]]:
    """The lines of the alerts' history to redact: of an alert drawn from the data, every text
    (comment, free texts of the detail); of any other, the texts naming the records."""
    out = []
    for r in con.execute(f"SELECT id, alert_id, comment, detail FROM {ALERT_EVENTS} ORDER BY id"):
        ch: dict[str, str] = {}
        if r["alert_id"] in alert_ids:
            if r["comment"] and r["comment"] != red.marker:
                ch["comment"] = red.marker
            if (d := _free_texts(r["detail"], red.marker)) is not None:
                ch["detail"] = d
        for col in ("comment", "detail"):
            v = ch.get(col, r[col])
            if v:
                nv, n = red.redact(v)
                if n:
                    ch[col] = nv if isinstance(nv, str) else json.dumps(nv, ensure_ascii=False, sort_keys=True)
        if ch:
            out.append((int(r["id"]), ch))
    return out


def purge_app_store(
    con: sqlite3.Connection,
    path: Path,
    target: Target,
    red: Redactor,
    purge_id: int,
    sign: Callable[[bytes], str],
    rep: Report,
    alert_ids: Iterable[str] = (),
) -> None:
    """Cortège registry rows deleted, access-log lines and the alerts' history redacted under the
    purge exemption (the chain re-anchored and signed), the e-mail records, reads and follow-up of
    the alerts drawn from the data (`alert_ids`, `Collected.alert_ids`) deleted; then the other
    tables redacted and, on SQLite, the whole file VACUUMed (secure_delete). On PostgreSQL `con`
    must be the schema owner's (`store.connect(owner=True)`)."""
    from tranquillite.app_core import audit, store

    types = json.dumps(sorted(target.record_types))
    n_entries = con.execute(
        "SELECT count(*) FROM cortege_entries WHERE record_type IN (SELECT value FROM json_each(?))", (types,)
    ).fetchone()[0]
    entry_digest = digest_of(
        r[0]
        for r in con.execute(
            "SELECT sha256 FROM cortege_entries WHERE record_type IN (SELECT value FROM json_each(?))", (types,)
        )
    )
    alert_ids = set(alert_ids)
    redactions: dict[int, dict[str, str]] = {}
    for r in con.execute("SELECT id, page, filters, detail FROM access_log ORDER BY id"):
        ch = {}
        for col in ("filters", "detail"):
            v = r[col]
            if v:
                if col == "detail" and r["page"] == ALERTS_PAGE and alert_ids:
                    v = _redact_alert_texts(v, alert_ids, red.marker) or v
                nv, n = red.redact(v)
                if n or v != r[col]:
                    ch[col] = nv if isinstance(nv, str) else json.dumps(nv, ensure_ascii=False, sort_keys=True)
        if ch:
            redactions[int(r["id"])] = ch
    events = _alert_event_redactions(con, red, alert_ids)
    old_head = (con.execute("SELECT row_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone() or [store.GENESIS])[
        0
    ]
    con.execute("PRAGMA secure_delete = ON")
    with store.transaction(con):
        con.executemany(
            "INSERT INTO convention_purge_open VALUES (?, ?)",
            [(t, purge_id) for t in ("cortege_entries", "access_log", ALERT_EVENTS, ALERT_NOTIFICATIONS)],
        )
        con.execute("DELETE FROM cortege_entries WHERE record_type IN (SELECT value FROM json_each(?))", (types,))
        for event_id, ch in events:
            sets = ", ".join(f"{c} = ?" for c in ch)  # column names: comment, detail (migration 0003's only ones)
            con.execute(f"UPDATE {ALERT_EVENTS} SET {sets} WHERE id = ?", (*ch.values(), event_id))
        ids_json = json.dumps(sorted(alert_ids))
        mailed = con.execute(
            f"DELETE FROM {ALERT_NOTIFICATIONS} WHERE alert_id IN (SELECT value FROM json_each(?))", (ids_json,)
        ).rowcount
        for t in ALERT_STATE_TABLES:  # mutable: the state of an alert that no longer exists
            con.execute(f"DELETE FROM {t} WHERE alert_id IN (SELECT value FROM json_each(?))", (ids_json,))
        new_head = old_head
        if redactions:
            first = min(redactions)
            for col_changes_id, ch in sorted(redactions.items()):
                sets = ", ".join(f"{c} = ?" for c in ch)  # column names from the fixed tuple above
                con.execute(f"UPDATE access_log SET {sets} WHERE id = ?", (*ch.values(), col_changes_id))
            new_head = audit.rechain(con, first)  # the keyed chain's rules (tranquillite.app_core.audit)
            at, ids = store.iso(store.now_utc()), json.dumps(sorted(redactions))
            payload = json.dumps(
                {
                    "destruction": purge_id,
                    "premiere_ligne": first,
                    "lignes": sorted(redactions),
                    "ancienne_tete": old_head,
                    "nouvelle_tete": new_head,
                },
                sort_keys=True,
            ).encode()
            key = audit.load_key(create=False)
            mac = audit.reanchor_mac(key, purge_id, at, first, old_head, new_head, ids) if key else ""
            con.execute(
                "INSERT INTO access_log_reanchors (purge_id, at, first_id, lines_redacted, old_head, new_head, "
                "redacted_ids, signature, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (purge_id, at, first, len(redactions), old_head, new_head, ids, sign(payload), mac),
            )
        con.execute("DELETE FROM convention_purge_open WHERE purge_id = ?", (purge_id,))
    if redactions and audit.load_key(create=False):  # the re-anchored head, published at once (Dagster's job)
        audit.publish_head(con, at=store.iso(store.now_utc()))
    skip = (
        "access_log",
        "cortege_entries",
        "access_log_reanchors",
        "convention_purges",
        "convention_history",
        "convention_purge_open",
        ALERT_EVENTS,
        ALERT_NOTIFICATIONS,
    )
    if con.dialect == "sqlite":
        other = redact_sqlite(path, red, skip_tables=skip)  # then VACUUMed with secure_delete
    else:  # PostgreSQL: through the connection (its VACUUM is the server's autovacuum)
        other = redact_store_tables(con, red, skip_tables=(*skip, "autoincrement_sequences"))
    rep.add(
        "magasin de l'application",
        "registre Cortège (cortege_entries)",
        "entrées supprimées",
        lignes=int(n_entries),
        empreinte=entry_digest,
    )
    rep.add(
        "magasin de l'application",
        "journal d'accès (access_log)",
        "lignes expurgées (qui, quand, page, action conservés), chaîne réancrée et signée",
        lignes=len(redactions),
        ancienne_tete=old_head[:16],
        nouvelle_tete=new_head[:16],
    )
    rep.add(
        "magasin de l'application",
        f"suivi des alertes ({ALERT_EVENTS}, {ALERT_NOTIFICATIONS}, {', '.join(ALERT_STATE_TABLES)})",
        "historique expurgé (qui, quand, quoi, états conservés); envois, lectures et suivi des alertes "
        "tirées de ses données effacés",
        alertes=len(alert_ids),
        evenements_expurges=len(events),
        envois_effaces=max(int(mailed or 0), 0),
    )
    if other["cellules_expurgees"]:
        rep.add("magasin de l'application", "autres tables", "valeurs expurgées", lignes=other["cellules_expurgees"])


# --------------------------------------------------------------------------- inventory (the DPO's view)
def inventory(home: Path, convention: str, store_con: sqlite3.Connection | None = None) -> list[dict]:
    """What the platform still holds of a convention, store by store — counts only, no content
    (the DPO's destruction view; the app's gateway no longer shows its rows to anyone)."""
    home = Path(home)
    target = Target.of(convention)
    out: list[dict] = []
    for src in sorted(target.landing_sources):
        root = home / "landing" / src
        files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        if files:
            out.append(
                {
                    "magasin": "zone d'atterrissage",
                    "element": f"landing/{src}/",
                    "fichiers": len(files),
                    "lignes": None,
                    "octets": sum(p.stat().st_size for p in files),
                }
            )
    models = 0
    for meta_path in (home / "models").glob("*/*/*/meta.json"):
        if trained_on(json.loads(meta_path.read_text(encoding="utf-8")), target):
            models += 1
    if models:
        out.append(
            {"magasin": "magasin de modèles", "element": "models/", "fichiers": models, "lignes": None, "octets": None}
        )
    import pyarrow.parquet as pq

    for table, files in _parquet_tables(home).items():
        parts = table.split("/")
        label = table.replace("warehouse/", "").replace("/", ".", 1) if parts[0] == "warehouse" else table
        if parts[0] == "warehouse" and len(parts) == 3 and target.is_source_table(parts[1], parts[2]):
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        else:
            schema = pl.read_parquet_schema(files[0])
            expr, _ = _remove_expr(dict(schema), target, set())
            if expr is None:
                continue
            rows = (
                pl.scan_parquet([str(f) for f in files], missing_columns="insert", extra_columns="ignore")
                .filter(expr)
                .select(pl.len())
                .collect()
                .item()
            )
        if rows:
            out.append(
                {
                    "magasin": "entrepôt" if parts[0] == "warehouse" else parts[0],
                    "element": label,
                    "fichiers": len(files),
                    "lignes": int(rows),
                    "octets": sum(f.stat().st_size for f in files),
                }
            )
    if store_con is not None:
        n = store_con.execute(
            "SELECT count(*) FROM cortege_entries WHERE record_type IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(target.record_types)),),
        ).fetchone()[0]
        if n:
            out.append(
                {
                    "magasin": "magasin de l'application",
                    "element": "registre Cortège",
                    "fichiers": None,
                    "lignes": int(n),
                    "octets": None,
                }
            )
    return out
