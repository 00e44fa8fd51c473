"""The independent record counter (`tranquillite.record_count`), and the proof that it is what
the ledger trusts: a reader that loses a record makes the blocking check fail."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date

import pytest

from tests.factories import VALID, landing_file, write_csv
from tranquillite import record_count as RC

HEADER = "a;b;c\n"


def _csv(body: str) -> RC.Count:
    return RC.count_csv((HEADER + body).encode("utf-8"))


@pytest.mark.parametrize(
    "body,expected,lines",
    [
        ("1;2;3\n4;5;6\n", 2, [2, 3]),
        ("1;2;3\n4;5;6", 2, [2, 3]),  # no final newline
        ('1;2;"x\ny"\n4;5;6\n', 2, [2, 4]),  # a quoted field spans two lines
        ('1;"a;""b""\nc";3\n4;5;6\n', 2, [2, 4]),  # doubled quotes and ; inside
        ('1;2;"jamais fermé\n4;5;6\n7;8;9\n', 3, [2, 3, 4]),  # unclosed quote swallows nothing
        ('1;2;"ouvert\n4;5;6\n7;8;"x;y"\n10;11;12\n', 4, [2, 3, 4, 5]),  # … even with a quoted field after
        ('1;2;"un\n4;5;"deux\n7;8;9\n', 3, [2, 3, 4]),  # two unclosed quotes
        ('1;2 m" de haut;3\n4;5;6\n', 2, [2, 3]),  # a literal quote inside a field
        ("1;2;3\n\n   \n;;\n4;5;6\n", 2, [2, 6]),  # blank and separator-only lines
        ('1;2;3\n"";""\n', 2, [2, 3]),  # quoted empty fields: a record
        ("1;2;3\r\n4;5;6\r\n", 2, [2, 3]),  # CRLF
        ("", 0, []),  # header only
    ],
)
def test_csv_records_are_physical_lines_outside_quoted_fields(body, expected, lines):
    c = _csv(body)
    assert c.records == expected
    assert c.spans[:, 2].tolist() == lines


def test_csv_spans_are_the_exact_text_without_line_terminator():
    c = RC.count_csv(b'\xef\xbb\xbfa;b\r\n1;"x\r\ny"\r\n2;z')
    assert [c.text(i) for i in range(c.records)] == ['1;"x\r\ny"', "2;z"]


def test_csv_count_agrees_with_the_csv_module_on_well_formed_files():
    """Random well-formed exports (quotes, separators, newlines in fields): same count."""
    rng = random.Random(7)
    alphabet = ["a", "é", " ", ";", '"', "\n", "x", "1"]
    for _ in range(30):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";", lineterminator=rng.choice(["\n", "\r\n"]))
        w.writerow(["h1", "h2", "h3"])
        n = rng.randint(0, 40)
        for _ in range(n):
            w.writerow(
                [
                    rng.choice("aéx1") + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                    for _ in range(3)
                ]
            )
        data = buf.getvalue().encode("utf-8")
        assert RC.count_csv(data).records == n, data


def test_csv_count_of_a_large_file_is_vectorised():
    """100 000 lines with quoted fields: counted by numpy, the malformed-file loop never runs."""
    line = '1;"a;b";"x ""y"""\n'
    c = RC.count_csv((HEADER + line * 100_000).encode())
    assert c.records == 100_000


@pytest.mark.parametrize(
    "doc,expected",
    [
        ([{"id": 1}, {"id": 2}], 2),
        ({"entries": [{"id": 1, "t": [1, 2, {"a": "]"}]}, {"id": 2}]}, 2),  # nested arrays, brackets in strings
        ({"entries": "abc"}, 1),
        ({"entries": 5}, 1),
        ({"id": 1, "objet": "un, deux [trois]"}, 1),  # one entry object
        ([{"objet": 'il a dit \\"non\\", puis ]'}, {"id": 2}], 2),  # escaped quotes
        ([], 0),
        (42, 1),
        ([{"id": 1}, 7, "x"], 3),
    ],
)
def test_json_entries_are_counted_by_a_structural_scan(doc, expected):
    assert RC.count_json(json.dumps(doc, ensure_ascii=False, indent=1).encode()).records == expected
    assert RC.count_json(json.dumps(doc, ensure_ascii=False).encode()).records == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ('[{"id": 1}, {"id": 2}] {"id": 3}', 3),  # something after the array
        ('{"id": 1}\n{"id": 2}\n', 2),  # two documents (JSON lines)
        ('{"entries": [{"id": 1}]}}', 2),  # a stray closing brace
        ('[{"id": 1},, {"id": 2},]', 2),  # empty elements are no entries
    ],
)
def test_json_content_after_the_document_is_a_record(text, expected):
    assert RC.count_json(text.encode()).records == expected


def test_json_truncated_array_counts_the_cut_entry():
    text = json.dumps([{"id": i, "objet": "x"} for i in range(3)], indent=1)
    assert RC.count_json(text[: text.rindex('"objet"')].encode()).records == 3
    text = json.dumps({"entries": [{"id": i, "objet": "x"} for i in range(3)]}, indent=1)
    assert RC.count_json(text[: text.rindex('"objet"')].encode()).records == 3


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_transcoded_before_counting(encoding):
    data = json.dumps([{"id": "é1"}, {"id": "é2"}], ensure_ascii=False).encode(encoding)
    c = RC.count_json(data)
    assert c.records == 2 and c.encoding is not None
    assert RC.count_csv(("a;b\n1;é\n2;è\n").encode(encoding)).records == 2


def test_empty_files_have_no_record():
    assert RC.count_csv(b"").records == 0 and RC.count_json(b"  \n").records == 0


def test_a_reader_that_loses_a_record_fails_the_blocking_check(home, landing, monkeypatch):
    """The ledger's `read` is the counter's: a record the reader silently drops unbalances the
    day and `aucune_perte` fails — the parser cannot vouch for itself."""
    import dagster as dg

    from tranquillite import landing as landing_io
    from tranquillite import runner
    from tranquillite.assets import constants as K
    from tranquillite.definitions import build_defs
    from tranquillite.jobs import INGEST_JOB, RANGE_END_TAG, RANGE_START_TAG

    rows = [{**VALID["interventions"], "N° intervention": f"INT-{i}"} for i in range(4)]
    write_csv(landing_file(landing, "interventions", "2025-03-08"), "interventions", rows)
    real = landing_io.read_csv_file

    def lossy(*args, **kw):
        fr = real(*args, **kw)
        fr.records = fr.records.head(fr.records.height - 1)  # one record vanishes, nothing said
        return fr

    monkeypatch.setattr(landing_io, "read_csv_file", lossy)
    defs = build_defs()
    instance = runner.instance()
    day = date(2025, 3, 8).isoformat()
    res = defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={RANGE_START_TAG: day, RANGE_END_TAG: day},
        run_config=runner.QUIET,
    )
    assert not res.success
    rec = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(K.quarantine_key("interventions"), K.CHECK_NOTHING_LOST)
    )
    assert rec.status.value == "FAILED"
    meta = rec.event.dagster_event.event_specific_data.metadata
    assert meta["lus"].value == 4 and meta["lus_par_le_lecteur"].value == 3
    assert meta["partitions_desequilibrees"].value == {
        day: {"read": 4, "parsed": 3, "clean": 3, "quarantined": 0, "duplicates": 0}
    }
