"""Independent record counter of landing files: a second reader that shares nothing with the parser.

The ingestion ledger's "read" figure comes from here (`governance.landing_files.records`), so a
parser that swallows, splits or drops records shows as an unbalanced day — the blocking check
`aucune_perte` fails — instead of a silent loss. When the parser and this counter disagree on a
file, the landing reader re-reads it record by record along the spans found here (see
`tranquillite.landing`).

CSV (`;`): a record ends at a newline outside a quoted field. Computed on the bytes with numpy,
not by a Python loop over lines. Quotes are paired in order; a pair is a quoted field only if it
opens at a field start (after `;`, a line end or the file start) and closes at a field end
(before `;`, a line end or the file end) — a doubled quote `""` inside a field keeps the pairing
(it is accepted as a closing then an opening quote). A quote that breaks the pairing is a literal
character (`2 m" de haut`) or an unclosed quote: it encloses nothing, so an unclosed quote never
swallows the lines after it. The pairing is checked vectorised; only a malformed file is re-paired
by a loop over its quote characters (never over its lines). Lines holding only blanks and `;`
carry no record (a quoted empty field `""` is a record). The first physical line is the header.

JSON: the entries are the elements of the top-level array, or of the `entries` array of an
envelope object, found by a structural scan (strings masked by their unescaped quotes, depth of
brackets) — not by the `json` module. An element cut by the end of the file counts, and so does
anything written after the end of the document. Any other document (one entry object,
`{"entries": 5}`, a scalar) is one record; an empty file none.

Files in UTF-16 or UTF-32 (with a byte-order mark, or recognised by their NUL bytes as RFC 8259
suggests) are transcoded to UTF-8 first; every other byte sequence is counted as is.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import numpy as np

NL, CR, QUOTE, SEMI, BACKSLASH = 0x0A, 0x0D, 0x22, 0x3B, 0x5C
_BLANK_CSV = np.zeros(256, dtype=bool)
_BLANK_CSV[[0x20, 0x09, CR, NL, SEMI]] = True
_WS = np.zeros(256, dtype=bool)
_WS[[0x20, 0x09, CR, NL]] = True
_STRUCTURAL = np.zeros(256, dtype=bool)
_STRUCTURAL[list(b"[]{},:")] = True
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


@dataclass(frozen=True)
class Count:
    """Records of a file: `spans[i] = (start, end, first_line)` in `data` (UTF-8 bytes, end exclusive,
    line terminator excluded; `first_line` is 1-based and physical)."""

    data: bytes
    spans: np.ndarray
    encoding: str | None = None  # 'utf-16' / 'utf-32' when the file was transcoded

    @property
    def records(self) -> int:
        return int(self.spans.shape[0])

    def text(self, i: int, encoding: str = "utf-8") -> str:
        s, e, _ = self.spans[i]
        return self.data[s:e].decode(encoding, errors="replace")


def wide_encoding(data: bytes) -> str | None:
    """'utf-16' or 'utf-32' (with their byte order) when the bytes are not 8-bit text, else None."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return None if enc == "utf-8-sig" else enc
    head = data[:4]
    if len(head) == 4:
        nul = [b == 0 for b in head]
        if nul == [True, True, True, False]:
            return "utf-32-be"
        if nul == [False, True, True, True]:
            return "utf-32-le"
        if nul[0] and not nul[1] and nul[2] and not nul[3]:
            return "utf-16-be"
        if not nul[0] and nul[1] and not nul[2] and nul[3]:
            return "utf-16-le"
    return None


def to_utf8(data: bytes) -> tuple[bytes, str | None]:
    """Transcode UTF-16/32 to UTF-8 (undecodable units replaced); other bytes unchanged, UTF-8 BOM removed."""
    enc = wide_encoding(data)
    if enc is not None:
        return data.decode(enc, errors="replace").lstrip("\ufeff").encode("utf-8"), enc
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :], None
    return data, None


# --------------------------------------------------------------------------- CSV
def _pair_quotes(q: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(open, close) positions of the quoted fields. Vectorised when the file is well formed."""
    k = len(q) - len(q) % 2
    if k == len(q) and bool(np.all(opens[0:k:2] & closes[1:k:2])):
        return q[0:k:2], q[1:k:2]
    # malformed: a quote that cannot open, or an opener whose next quote cannot close, is dropped
    # (a literal or unclosed quote) and pairing resumes at the next quote — a loop over quotes only
    o_out, c_out = [], []
    pending = -1
    for i in range(len(q)):
        if pending < 0:
            if opens[i]:
                pending = i
        elif closes[i]:
            o_out.append(q[pending])
            c_out.append(q[i])
            pending = -1
        else:
            pending = i if opens[i] else -1
    return np.asarray(o_out, dtype=np.int64), np.asarray(c_out, dtype=np.int64)


def csv_spans(data: bytes) -> np.ndarray:
    """Spans of the records of a `;` CSV (header excluded): see the module docstring."""
    b = np.frombuffer(data, dtype=np.uint8)
    n = b.size
    if n == 0:
        return np.empty((0, 3), dtype=np.int64)
    q = np.flatnonzero(b == QUOTE)
    prev = np.where(q > 0, b[np.maximum(q - 1, 0)], NL)
    nxt = np.where(q + 1 < n, b[np.minimum(q + 1, n - 1)], NL)
    opens = (prev == SEMI) | (prev == NL) | (prev == QUOTE) | (q == 0)
    closes = (nxt == SEMI) | (nxt == NL) | (nxt == CR) | (nxt == QUOTE) | (q == n - 1)
    o, c = _pair_quotes(q, opens, closes)
    nl = np.flatnonzero(b == NL)
    if o.size and nl.size:
        i = np.searchsorted(o, nl, side="right") - 1
        inside = (i >= 0) & (nl < c[np.maximum(i, 0)])
        ends = nl[~inside]
    else:
        ends = nl
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [n]])
    # drop the line terminator's CR, then empty / blank segments, then the header (first segment)
    cr = (stops > starts) & (b[np.maximum(stops - 1, 0)] == CR)
    stops = stops - cr
    content = np.concatenate([[0], np.cumsum(~_BLANK_CSV[b])])
    filled = content[stops] - content[starts] > 0
    first_line = np.searchsorted(nl, starts, side="left") + 1
    keep = filled & (np.arange(starts.size) > 0)
    return np.column_stack([starts[keep], stops[keep], first_line[keep]]).astype(np.int64)


def count_csv(data: bytes) -> Count:
    data, enc = to_utf8(data)
    return Count(data, csv_spans(data), enc)


# --------------------------------------------------------------------------- JSON
def _structure(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions and bytes of the structural characters `[]{},:` outside strings."""
    quotes = np.flatnonzero(b == QUOTE)
    maybe = quotes[(quotes > 0) & (b[np.maximum(quotes - 1, 0)] == BACKSLASH)]
    if maybe.size:  # a quote is escaped when preceded by an odd run of backslashes
        bs = np.flatnonzero(b == BACKSLASH)
        run_start = np.concatenate([[True], np.diff(bs) != 1])
        start_of = bs[np.flatnonzero(run_start)][np.cumsum(run_start) - 1]  # run start of each backslash
        k = np.searchsorted(bs, maybe - 1)
        escaped = maybe[(maybe - start_of[k]) % 2 == 1]
        keep = np.ones(quotes.size, dtype=bool)
        keep[np.searchsorted(quotes, escaped)] = False
        quotes = quotes[keep]
    cand = np.flatnonzero(_STRUCTURAL[b])
    outside = np.searchsorted(quotes, cand, side="left") % 2 == 0
    pos = cand[outside]
    return pos, b[pos]


def _element_spans(
    b: np.ndarray, pos: np.ndarray, ch: np.ndarray, depth: np.ndarray, open_at: int, level: int
) -> list[tuple[int, int]]:
    """Elements of the array opened at byte `open_at`, whose elements sit at `level` (vectorised)."""
    after = pos > open_at
    closing = after & (depth == level - 1) & ((ch == ord("]")) | (ch == ord("}")))
    stop = int(pos[np.argmax(closing)]) if closing.any() else b.size
    commas = pos[after & (pos < stop) & (depth == level) & (ch == ord(","))]
    bounds = np.concatenate([[open_at], commas, [stop]])
    starts, ends = bounds[:-1] + 1, bounds[1:]
    filled = np.flatnonzero(~_WS[b])  # first and last non-blank byte of each element
    i = np.searchsorted(filled, starts, side="left")
    j = np.searchsorted(filled, ends, side="left") - 1
    ok = (i <= j) & (i < filled.size)
    first = filled[np.minimum(i, filled.size - 1)][ok]
    last = filled[np.maximum(j, 0)][ok] + 1
    return list(zip(first.tolist(), last.tolist()))


def json_spans(data: bytes) -> np.ndarray:
    b = np.frombuffer(data, dtype=np.uint8)
    nonblank = np.flatnonzero(~_WS[b])
    if nonblank.size == 0:
        return np.empty((0, 3), dtype=np.int64)
    first, last = int(nonblank[0]), int(nonblank[-1]) + 1
    pos, ch = _structure(b)
    delta = np.where((ch == ord("[")) | (ch == ord("{")), 1, np.where((ch == ord("]")) | (ch == ord("}")), -1, 0))
    depth_after = np.cumsum(delta)  # depth once the character is read
    depth = depth_after - np.maximum(delta, 0)  # depth of the character itself ('[' at its outer level)
    closers = (depth_after == 0) & ((ch == ord("]")) | (ch == ord("}")))
    top_end = int(pos[np.argmax(closers)]) + 1 if b[first] in b"[{" and closers.any() else None
    spans: list[tuple[int, int]] = [(first, top_end or last)]
    if b[first] == ord("["):
        spans = _element_spans(b, pos, ch, depth_after, first, 1)
    elif b[first] == ord("{"):
        colons = pos[(depth == 1) & (ch == ord(":"))]
        for colon in colons:  # members of the envelope: the key is the string just before ':'
            head = data[max(first, int(colon) - 64) : int(colon)].rstrip()
            if head.endswith(b'"entries"'):
                value = np.flatnonzero(~_WS[b[colon + 1 :]])
                if value.size and b[colon + 1 + value[0]] == ord("["):
                    spans = _element_spans(b, pos, ch, depth_after, int(colon + 1 + value[0]), 2)
                break
    if top_end is not None:  # anything after the document is one more record (kept, quarantined)
        rest = nonblank[nonblank >= top_end]
        if rest.size:
            spans.append((int(rest[0]), last))
    nl = np.flatnonzero(b == NL)
    arr = np.array(spans, dtype=np.int64).reshape(-1, 2)
    lines = np.searchsorted(nl, arr[:, 0], side="left") + 1
    return np.column_stack([arr, lines]).astype(np.int64)


def count_json(data: bytes) -> Count:
    data, enc = to_utf8(data)
    return Count(data, json_spans(data), enc)


def count(data: bytes, fmt: str) -> Count:
    """Records of a landing file in format `csv` or `json`."""
    return count_json(data) if fmt == "json" else count_csv(data)
