"""Real-format adapters: read the landing zone exactly as partners and the City drop it.

A landing file belongs to the daily partition named by the first `AAAA-MM-JJ` in its path
(`interventions_2025-03-08.csv`, `cortege/2025-03-08/PP-…_v2.json`). A file without such a date,
with an impossible date (`2026-02-31`) or a date outside the partitions cannot be assigned:
`assign` says why, in French, and the file is recorded as such (`governance.landing_files`).

Reading never loses a record. Each file is counted by an independent reader
(`tranquillite.record_count`) and parsed by the `csv` / `json` modules; when the two disagree
(an unclosed quote swallowing the next rows, an element the JSON parser could not get past), the
file is re-read record by record along the counter's spans and the suspect records get a
`_parse_error`. A record that cannot be decoded, split or parsed becomes a raw record carrying
that `_parse_error`, which the clean step quarantines whole. `_raw` is the record's original
text (its exact physical lines, embedded newlines kept) and `_line` its first physical line.
File-level problems (empty file, encoding, unexpected columns…) are reported as `FileIssue`s.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tranquillite.contracts import Contract, contracts_for_source

DATE_IN_PATH = re.compile(r"(\d{4}-\d{2}-\d{2})")
CSV_SEPARATOR = ";"
if TYPE_CHECKING:
    import polars as pl

    from tranquillite import record_count

LINEAGE_COLUMNS = ["_source", "_partition", "_file", "_line", "_raw", "_parse_error", "_digest"]
CSV_FIELD_LIMIT = csv.field_size_limit()


def _counter():
    """`tranquillite.record_count` (numpy), imported when a file is read or counted: the landing sensor,
    which only dates file names, does not load numpy (issue 14, import budget)."""
    from tranquillite import record_count

    return record_count


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
    counted: int = 0  # records found by the independent counter
    label: str = ""  # path relative to the landing zone (`_file` of the records)


# --------------------------------------------------------------------------- partitions
@dataclass(frozen=True)
class Assignment:
    """The partition of a landing file, or why it has none (`reason`, French)."""

    partition: str | None
    reason: str | None = None
    later: bool = False  # dated after the last partition: assignable when its day comes


def partition_of(path: Path) -> str | None:
    """The first `AAAA-MM-JJ` of the path, as written (not checked: see `assign`)."""
    m = DATE_IN_PATH.search(path.as_posix())
    return m.group(1) if m else None


def assign(rel: Path, first: str, last: str) -> Assignment:
    """Partition of a file (path relative to the landing zone) among the days [first, last]."""
    key = partition_of(rel)
    if key is None:
        return Assignment(None, "aucune date AAAA-MM-JJ dans le nom ou le chemin du fichier: jour d'export inconnu")
    try:
        date.fromisoformat(key)
    except ValueError:
        return Assignment(None, f"date impossible « {key} » dans le nom du fichier")
    if key < first:
        return Assignment(None, f"date {key} avant la première partition ({first}, TRANQUILLITE_PARTITIONS_START)")
    if key > last:
        return Assignment(
            None,
            f"date {key} après la dernière partition ({last}): fichier ingéré quand ce jour est une partition",
            later=True,
        )
    return Assignment(key)


def source_files(landing: Path, source: str) -> list[Path]:
    root = landing / source
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "~")))


def inventory(
    landing: Path, source: str, first: str, last: str
) -> tuple[dict[str, list[Path]], list[tuple[Path, Assignment]]]:
    """Files of a source by partition, and the files that cannot be assigned (with why)."""
    by_partition: dict[str, list[Path]] = {}
    unassigned: list[tuple[Path, Assignment]] = []
    for p in source_files(landing, source):
        a = assign(p.relative_to(landing), first, last)
        if a.partition is None:
            unassigned.append((p, a))
        else:
            by_partition.setdefault(a.partition, []).append(p)
    return by_partition, unassigned


def files_by_partition(
    landing: Path, source: str, first: str = "0000-00-00", last: str = "9999-12-31"
) -> dict[str, list[Path]]:
    return inventory(landing, source, first, last)[0]


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


def source_format(source: str) -> str:
    contracts: list[Contract] = contracts_for_source(source)
    if not contracts:
        raise LandingError(f"aucun contrat de données pour la source {source!r}")
    return contracts[0].format


# --------------------------------------------------------------------------- records
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def _frame(rows: list[dict], columns: list[str], source: str, partition: str, file: str) -> pl.DataFrame:
    import polars as pl  # lazily: the landing sensor only assigns paths to days (import budget, issue 14)

    schema = {c: pl.Utf8 for c in columns} | {
        "_source": pl.Utf8,
        "_partition": pl.Utf8,
        "_file": pl.Utf8,
        "_line": pl.Int64,
        "_raw": pl.Utf8,
        "_parse_error": pl.Utf8,
        "_digest": pl.Utf8,
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    df = pl.DataFrame(rows, schema=schema)
    return df.with_columns(_source=pl.lit(source), _partition=pl.lit(partition), _file=pl.lit(file))


def _meta(path: Path, partition: str, data: bytes, label: str) -> dict:
    return dict(path=path, partition=partition, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), label=label)


def _wide_issue(enc: str | None, label: str, issues: list[FileIssue]) -> None:
    if enc:
        kind = "encodage_utf32" if "32" in enc else "encodage_utf16"
        issues.append(FileIssue(label, kind, f"fichier encodé en {enc.upper()} (UTF-8 attendu), décodé comme tel"))


# --------------------------------------------------------------------------- CSV
def _decode_lines(data: bytes, file: str, issues: list[FileIssue]) -> tuple[list[str], list[bool]]:
    """Physical lines (split on LF only, as the counter does), decoded as UTF-8, or Windows-1252
    line by line where UTF-8 fails."""
    try:
        lines = data.decode("utf-8").split("\n")
        return lines, [False] * len(lines)
    except UnicodeDecodeError:
        pass
    out, bad = [], []
    for raw in data.split(b"\n"):
        try:
            out.append(raw.decode("utf-8"))
            bad.append(False)
        except UnicodeDecodeError:
            out.append(raw.decode("cp1252", errors="replace"))
            bad.append(True)
    if any(bad):
        issues.append(
            FileIssue(
                file,
                "encodage_invalide",
                f"{sum(bad)} ligne(s) non UTF-8, lues en Windows-1252 et mises en quarantaine",
            )
        )
    return out, bad


def _keepends(lines: list[str]) -> list[str]:
    return [ln + "\n" for ln in lines[:-1]] + lines[-1:]


def _csv_parse(body: list[str]) -> tuple[dict[int, tuple[int, list[str]]], Exception | None]:
    """The csv module's records: {first body line (0-based): (last body line, values)}."""
    out: dict[int, tuple[int, list[str]]] = {}
    reader = csv.reader(_keepends(body), delimiter=CSV_SEPARATOR)
    done = 0
    try:
        for values in reader:
            first, done = done, reader.line_num
            if values:  # blank lines: the counter's spans decide (only blanks and `;` is no record)
                out[first] = (done - 1, values)
    except csv.Error as exc:
        return out, exc
    return out, None


def _unclosed_quote(text: str) -> bool:
    """An odd number of quotes, one of them opening a field: a quote that was never closed
    (a lone quote inside a field, `2 m" de haut`, is a literal character)."""
    return text.count('"') % 2 == 1 and (text.startswith('"') or ';"' in text)


def _parse_segment(lines: list[str]) -> tuple[list[str] | None, str | None]:
    """One record's lines read alone: (values, parse error)."""
    try:
        rows = list(csv.reader(_keepends(lines), delimiter=CSV_SEPARATOR))
    except csv.Error as exc:
        return None, "champ_trop_long" if "field limit" in str(exc) else "lecture_invalide"
    rows = [r for r in rows if r]
    if len(rows) != 1:
        return None, "lecture_invalide"
    return rows[0], None


def read_csv_file(path: Path, source: str, partition: str, file_label: str) -> FileRead:
    data = path.read_bytes()
    issues: list[FileIssue] = []
    columns = source_columns(source)
    meta = _meta(path, partition, data, file_label)
    count = _counter().count_csv(data)
    if not data.strip():
        issues.append(FileIssue(file_label, "fichier_vide", "fichier vide: aucun enregistrement"))
        return FileRead(records=_frame([], columns, source, partition, file_label), issues=issues, **meta)
    _wide_issue(count.encoding, file_label, issues)
    lines, bad = _decode_lines(count.data, file_label, issues)
    header = [h.strip() for h in next(csv.reader([lines[0].rstrip("\r")], delimiter=CSV_SEPARATOR), [])]
    if bad[0]:
        issues.append(
            FileIssue(
                file_label, "entete_illisible", "en-tête non UTF-8: colonnes reconnues après décodage Windows-1252"
            )
        )
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns]
    if missing:
        issues.append(FileIssue(file_label, "colonnes_manquantes", f"colonnes absentes: {missing}"))
    if extra:
        issues.append(
            FileIssue(file_label, "colonnes_inattendues", f"colonnes ignorées (conservées dans _raw): {extra}")
        )
    parsed, error = _csv_parse(lines[1:])
    rows: list[dict] = []
    reread = suspect = too_long = 0
    for start, stop, line in count.spans.tolist():
        first = line - 1  # 0-based physical line
        last = first + count.data.count(b"\n", start, stop)
        seg = lines[first : last + 1]
        seg[-1] = seg[-1].rstrip("\r")
        raw_text = "\n".join(seg)
        got = parsed.get(first - 1)  # body lines are numbered from the header's next
        err = None
        if got is not None and got[0] == last - 1:
            values = got[1]
        else:  # parser and counter disagree here: read this record alone, along the counter
            reread += 1
            values, err = _parse_segment(seg)
            swallowed = got is not None and got[0] > last - 1
            if err != "champ_trop_long" and (swallowed or _unclosed_quote(raw_text)):
                err = "guillemet_non_ferme" if _unclosed_quote(raw_text) else "lecture_divergente"
                suspect += 1
            too_long += err == "champ_trop_long"
        if err is None and any(bad[first : last + 1]):
            err = "encodage_invalide"
        if err is None and len(values) != len(header):
            err = f"nombre_de_colonnes_incorrect:{len(values)}/{len(header)}"
        rec = dict(zip(header, values or []))
        row = {c: rec.get(c) or None for c in columns}
        row.update(_line=line, _raw=raw_text, _parse_error=err, _digest=_digest(raw_text))
        rows.append(row)
    if reread:
        got_n = sum(1 for _, values in parsed.values() if any(v.strip() for v in values))
        why = f" (le lecteur CSV s'est arrêté: {error})" if error is not None else ""
        issues.append(
            FileIssue(
                file_label,
                "lecture_divergente",
                f"le lecteur CSV a lu {got_n} enregistrement(s), le compteur indépendant "
                f"{count.records}{why}: {reread} enregistrement(s) relu(s) un par un, "
                f"{suspect} suspect(s) mis en quarantaine",
            )
        )
    if too_long:
        issues.append(
            FileIssue(
                file_label,
                "champ_trop_long",
                f"{too_long} enregistrement(s) avec un champ de plus de {CSV_FIELD_LIMIT} "
                "caractères, mis en quarantaine",
            )
        )
    return FileRead(
        records=_frame(rows, columns, source, partition, file_label), issues=issues, counted=count.records, **meta
    )


# --------------------------------------------------------------------------- JSON
_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def _json_value(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v if v.strip() else None
    return json.dumps(v, ensure_ascii=False)


def _skip(text: str, i: int, chars: str = _WS) -> int:
    n = len(text)
    while i < n and text[i] in chars:
        i += 1
    return i


def _parse_array(text: str, start: int) -> tuple[list[tuple[object, int, int]], int | None, str | None]:
    """Elements of the array opening at `start`: [(value, start, end)], end of the array (None if
    broken) and the error met (its tail, from the broken element on, is one more record)."""
    items: list[tuple[object, int, int]] = []
    i = start + 1
    n = len(text)
    while True:
        i = _skip(text, i, _WS + ",")
        if i >= n:
            return items, None, "fin de fichier avant la fin du tableau"
        if text[i] == "]":
            return items, i + 1, None
        try:
            obj, j = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            items.append((None, i, -1))
            return items, None, exc.msg
        items.append((obj, i, j))
        i = _skip(text, j)
        if i < n and text[i] not in ",]":
            items.append((None, i, -1))
            return items, None, "« , » ou « ] » attendu"


def _member_value(text: str, start: int, key: str) -> int | None:
    """Offset of the value of `key` among the members of the object opening at `start`."""
    i = _skip(text, start + 1)
    n = len(text)
    try:
        while i < n and text[i] == '"':
            name, i = json.decoder.scanstring(text, i + 1)
            i = _skip(text, i)
            if i >= n or text[i] != ":":
                return None
            i = _skip(text, i + 1)
            if name == key:
                return i if i < n else None
            _, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if i >= n or text[i] != ",":
                return None
            i = _skip(text, i + 1)
    except json.JSONDecodeError:
        return None
    return None


def _json_items(text: str, label: str, issues: list[FileIssue]) -> list[tuple[object, int, int, str | None]]:
    """[(value, start, end, parse error)] of a JSON landing file (end -1: to the end of the text)."""
    s = _skip(text, 0)
    out: list[tuple[object, int, int, str | None]] = []
    end: int | None = None
    error = None
    if text[s] == "[":
        items, end, error = _parse_array(text, s)
    elif text[s] == "{":
        at = _member_value(text, s, "entries")
        try:
            doc, end = _DECODER.raw_decode(text, s)
        except json.JSONDecodeError as exc:
            doc, error = None, exc.msg
        if at is not None and text[at] == "[":
            items, arr_end, err = _parse_array(text, at)
            error = error or err
            if doc is None:
                end = None
        elif at is not None and doc is not None:
            issues.append(
                FileIssue(
                    label,
                    "entrees_non_liste",
                    "« entries » n'est pas une liste d'entrées: le document est mis en quarantaine",
                )
            )
            return [(None, s, end, "entrees_non_liste")] + _json_tail(text, end, label, issues)
        else:
            items = [(doc, s, end if doc is not None else -1)]
    else:
        try:
            doc, end = _DECODER.raw_decode(text, s)
            items = [(doc, s, end)]
        except json.JSONDecodeError as exc:
            items, error = [(None, s, -1)], exc.msg
    for value, a, b in items:
        err = "json_invalide" if b < 0 else None if isinstance(value, dict) else "entree_non_objet"
        out.append((value, a, b, err))
    if error is not None:
        complete = sum(1 for *_, e in out if e != "json_invalide")
        broken = len(out) - complete
        issues.append(
            FileIssue(
                label,
                "json_invalide",
                f"JSON invalide ({error}): {complete} entrée(s) complète(s) récupérée(s)"
                + (f", {broken} partie(s) illisible(s) en quarantaine" if broken else ""),
            )
        )
    elif end is not None:
        out += _json_tail(text, end, label, issues)
    return out


def _json_tail(text: str, end: int | None, label: str, issues: list[FileIssue]) -> list:
    if end is None or not text[end:].strip():
        return []
    issues.append(FileIssue(label, "json_invalide", "contenu après la fin du document JSON, mis en quarantaine"))
    return [(None, _skip(text, end), -1, "json_invalide")]


def _json_fallback(count: record_count.Count, text_of) -> list[tuple[object, int, str, str | None]]:
    """Each record along the counter's spans, parsed alone: [(value, line, raw, error)]."""
    out = []
    for i, (_, _, line) in enumerate(count.spans.tolist()):
        raw = text_of(i)
        try:
            value = json.loads(raw)
            err = None if isinstance(value, dict) else "entree_non_objet"
        except json.JSONDecodeError:
            value, err = None, "json_invalide"
        out.append((value, line, raw, err))
    return out


def read_json_file(path: Path, source: str, partition: str, file_label: str) -> FileRead:
    data = path.read_bytes()
    issues: list[FileIssue] = []
    columns = source_columns(source)
    meta = _meta(path, partition, data, file_label)
    count = _counter().count_json(data)
    if not data.strip():
        issues.append(FileIssue(file_label, "fichier_vide", "fichier vide: aucune entrée"))
        return FileRead(records=_frame([], columns, source, partition, file_label), issues=issues, **meta)
    _wide_issue(count.encoding, file_label, issues)
    encoding = "utf-8"
    try:
        text = count.data.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1252"
        text = count.data.decode("cp1252", errors="replace")
        issues.append(FileIssue(file_label, "encodage_invalide", "fichier non UTF-8, lu en Windows-1252"))
    found: list[tuple[object, int, str, str | None]] = []
    line, at = 1, 0
    for value, a, b, err in _json_items(text, file_label, issues):
        line += text.count("\n", at, a)
        at = a
        found.append((value, line, (text[a:b] if b >= 0 else text[a:]).rstrip(), err))
    if [ln for _, ln, _, _ in found] != count.spans[:, 2].tolist():
        issues.append(
            FileIssue(
                file_label,
                "lecture_divergente",
                f"le lecteur JSON a lu {len(found)} entrée(s), le compteur indépendant "
                f"{count.records}: entrées relues une par une",
            )
        )
        found = _json_fallback(count, lambda i: count.text(i, encoding))
    rows: list[dict] = []
    for value, ln, raw, err in found:
        if isinstance(value, dict) and err is None:
            row = {c: _json_value(value.get(c)) for c in columns}
            digest = _digest(json.dumps(value, ensure_ascii=False, sort_keys=True))
        else:
            row = {c: None for c in columns}
            digest = _digest(raw)
        row.update(_line=ln, _raw=raw, _parse_error=err, _digest=digest)
        rows.append(row)
    return FileRead(
        records=_frame(rows, columns, source, partition, file_label), issues=issues, counted=count.records, **meta
    )


# --------------------------------------------------------------------------- files
def read_file(path: Path, landing: Path, source: str) -> FileRead:
    label = path.relative_to(landing).as_posix()
    partition = partition_of(path.relative_to(landing))
    if partition is None:
        raise LandingError(f"{label}: aucune date AAAA-MM-JJ dans le chemin, partition inconnue")
    reader = read_json_file if source_format(source) == "json" else read_csv_file
    return reader(path, source, partition, label)


def count_file(path: Path, source: str) -> int:
    """Records of a file by the independent counter alone (files that are not ingested)."""
    return _counter().count(path.read_bytes(), source_format(source)).records


def _unreadable(path: Path, landing: Path, source: str, exc: Exception) -> FileRead:
    """A file the reader failed on (a defect of the reader): kept whole as one quarantined record,
    counted by the counter — so the day's ledger shows the difference — and reported."""
    label = path.relative_to(landing).as_posix()
    partition = partition_of(path.relative_to(landing)) or ""
    data = path.read_bytes()
    try:
        counted = _counter().count(data, source_format(source)).records
    except Exception:  # noqa: BLE001 - the counter failing too is reported, never fatal
        counted = 1
    text = _counter().to_utf8(data)[0].decode("utf-8", errors="replace")
    row = {c: None for c in source_columns(source)} | {
        "_line": 1,
        "_raw": text,
        "_parse_error": "lecture_invalide",
        "_digest": _digest(text),
    }
    issue = FileIssue(
        label,
        "lecture_impossible",
        f"le lecteur a échoué ({type(exc).__name__}: {exc}): fichier mis en quarantaine entier",
    )
    return FileRead(
        records=_frame([row], source_columns(source), source, partition, label),
        issues=[issue],
        counted=counted,
        **_meta(path, partition, data, label),
    )


def _read_safely(path: Path, landing: Path, source: str) -> FileRead:
    try:
        return read_file(path, landing, source)
    except LandingError:
        raise
    except Exception as exc:  # noqa: BLE001 - one unreadable file never stops the day's other files
        return _unreadable(path, landing, source, exc)


def read_partition(
    landing: Path, source: str, partition: str, by_partition: dict[str, list[Path]] | None = None
) -> tuple[pl.DataFrame, list[FileRead]]:
    """Every record of every landing file of one source and day, plus the per-file reports.
    `by_partition`: the source's files by day already listed (`files_by_partition`), for a range:
    the landing folder is then walked once per run, not once per day."""
    files = (files_by_partition(landing, source) if by_partition is None else by_partition).get(partition, [])
    reads = [_read_safely(p, landing, source) for p in files]
    frames = [r.records for r in reads]
    if not frames:
        return _frame([], source_columns(source), source, partition, ""), []
    import polars as pl

    return pl.concat(frames, how="vertical"), reads
