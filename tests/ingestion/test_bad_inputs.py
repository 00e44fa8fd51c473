"""Every bad landing input of the catalogue (`cases.py`), ingested by one real `tranquillite
materialize` (no dates) in a temporary home: nothing is lost, each bad record is quarantined
with its reason, and the other files of the day are ingested.

"Nothing lost" is measured against the INDEPENDENT record counter (`governance.landing_files.
records`), not against what the parser produced: per day, counted = clean + quarantined + exact
duplicates, and the blocking check `aucune_perte` says so.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.factories import VALID, VALID_CORTEGE, write_csv, write_json
from tests.ingestion.cases import CASES, UNASSIGNED, Case, day_of
from tranquillite.assets import constants as K
from tranquillite.contracts import contracts_for_source
from tranquillite.validation import reason_code

pytestmark = pytest.mark.slow


@dataclass
class Catalogue:
    home: Path
    rc: int
    out: str
    err: str

    def table(self, layer: str, name: str) -> pl.DataFrame:
        files = sorted((self.home / "warehouse" / layer / name).glob("*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed") if files else pl.DataFrame()

    def clean(self, source: str) -> pl.DataFrame:
        frames = [
            self.table(K.CLEAN, c.name).select("_partition", "_file", "_line")
            for c in contracts_for_source(source)
            if (self.home / "warehouse" / K.CLEAN / c.name).exists()
        ]
        return (
            pl.concat(frames)
            if frames
            else pl.DataFrame(schema={"_partition": pl.Utf8, "_file": pl.Utf8, "_line": pl.Int64})
        )


def _companion(landing: Path, case: Case, day: str) -> str:
    """A valid file of the same source and day: it must be ingested whatever the bad file holds."""
    if case.source == "cortege":
        path = write_json(
            landing / "cortege" / f"complement_{day}.json", [{**VALID_CORTEGE["visite_officielle"], "id": f"OK-{day}"}]
        )
    else:
        key = contracts_for_source(case.source)[0].field(contracts_for_source(case.source)[0].id_field).header
        path = write_csv(
            landing / case.source / f"complement_{day}.csv", case.source, [{**VALID[case.source], key: f"OK-{day}"}]
        )
    return path.relative_to(landing).as_posix()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Catalogue:
    from tranquillite.cli import main

    home = tmp_path_factory.mktemp("mauvais_depots")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        landing = home / "landing"
        for case in CASES:
            day = day_of(case)
            case.write(landing, day)
            _companion(landing, case, day)
        for rel, _ in UNASSIGNED:
            source = rel.split("/")[0]
            if source == "cortege":
                write_json(landing / rel, [VALID_CORTEGE["visite_officielle"]])
            else:
                write_csv(landing / rel, source, [VALID[source]])
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(["materialize", "--sans-prevision"])
        yield Catalogue(home, rc, out.getvalue(), err.getvalue())


def test_materialize_without_dates_ingests_every_day_despite_unassignable_files(catalogue):
    assert catalogue.rc == 0, catalogue.out + catalogue.err
    assert "ingestion_quotidienne: succès" in catalogue.out
    for rel, words in UNASSIGNED:  # reported, with the reason, and not fatal
        line = next((ln for ln in catalogue.err.splitlines() if rel in ln), None)
        assert line is not None and words in line, catalogue.err


def _label(case: Case) -> str:
    return f"{case.source}/{case.name}_{day_of(case)}.{case.ext}"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.source}/{c.name}" for c in CASES])
def test_bad_input_loses_nothing_and_is_quarantined_with_its_reason(catalogue, case):
    day, label = day_of(case), _label(case)
    files = catalogue.table(K.GOVERNANCE, "landing_files").filter(pl.col("source") == case.source)
    (row,) = files.filter((pl.col("file") == label) & pl.col("current")).to_dicts()
    # the independent counter's figure, and the issues reported for the file
    assert row["records"] == case.counted, row
    kinds = {i.split(":", 1)[0] for i in row["issues"]}
    assert set(case.issues) <= kinds, row["issues"]
    # each quarantined record with its expected reason, in line order
    q = catalogue.table(K.QUARANTINE, case.source)
    q = q.filter((pl.col("partition") == day) & (pl.col("file") == label)).sort("line") if q.height else q
    got = [sorted({reason_code(r) for r in rs}) for rs in (q.get_column("reasons").to_list() if q.height else [])]
    assert len(got) == len(case.reasons), got
    for want, have in zip(case.reasons, got):
        assert want in have, got
    # clean records of the file
    clean = catalogue.clean(case.source).filter((pl.col("_partition") == day) & (pl.col("_file") == label))
    assert clean.height == case.clean
    # the ledger of the day balances against the counter (case file + the companion's record)
    ledger = (
        catalogue.table(K.GOVERNANCE, "ingestion_ledger")
        .filter((pl.col("source") == case.source) & (pl.col("partition") == day))
        .to_dicts()
    )
    (led,) = ledger
    assert led["read"] == case.counted + 1, led
    assert led["read"] == led["clean"] + led["quarantined"] + led["duplicates"] and led["balanced"], led
    assert led["duplicates"] == case.duplicates
    # the other file of the day is ingested
    companion = catalogue.clean(case.source).filter(
        (pl.col("_partition") == day) & pl.col("_file").str.starts_with(f"{case.source}/complement_")
    )
    assert companion.height == 1


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.make is None and c.counted],
    ids=[f"{c.source}/{c.name}" for c in CASES if c.make is None and c.counted],
)
def test_raw_is_the_original_text_at_its_physical_line(catalogue, case):
    """`_raw` is the exact text of the record's physical lines; `_line` is its first line."""
    data = case.stored.read_bytes()
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        data = data.decode("utf-16").encode("utf-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = []  # physical lines, each in UTF-8 or else Windows-1252 (a spreadsheet's line)
    for line in data.split(b"\n"):
        try:
            lines.append(line.decode("utf-8").removesuffix("\r"))
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252").removesuffix("\r"))
    raw = pl.read_parquet(catalogue.home / "warehouse" / K.RAW / case.source / f"{day_of(case)}.parquet")
    raw = raw.filter(pl.col("_file") == _label(case))
    assert raw.height >= 1
    for rec in raw.iter_rows(named=True):
        first = rec["_line"] - 1
        n = rec["_raw"].count("\n") + 1
        physical = "\n".join(lines[first : first + n])
        if case.source == "cortege":  # a JSON entry starts on its line, after the indentation
            assert physical.lstrip().startswith(rec["_raw"].split("\n")[0].strip()), (rec["_line"], rec["_raw"][:80])
        else:
            assert rec["_raw"] == physical, (rec["_line"], rec["_raw"][:200], physical[:200])


def test_line_numbers_are_physical_after_a_multiline_field(catalogue):
    case = next(c for c in CASES if c.name == "champ_multiligne")
    q = catalogue.table(K.QUARANTINE, "interventions").filter(pl.col("file") == _label(case)).to_dicts()
    (bad,) = q
    assert bad["line"] == 4 and bad["raw"].startswith("INT-2;")
    clean = pl.read_parquet(catalogue.home / "warehouse" / K.CLEAN / "interventions" / f"{day_of(case)}.parquet")
    rows = {r["id"]: r for r in clean.filter(pl.col("_file") == _label(case)).to_dicts()}
    assert rows["INT-1"]["_line"] == 2 and rows["INT-3"]["_line"] == 5
    assert rows["INT-1"]["observations"] == "Première ligne\nseconde ligne du rapport"  # newline kept
    case = next(c for c in CASES if c.name == "multiligne_en_quarantaine")
    (bad,) = catalogue.table(K.QUARANTINE, "interventions").filter(pl.col("file") == _label(case)).to_dicts()
    assert bad["line"] == 3 and '"Ligne un\nligne deux"' in bad["raw"]


def test_unclosed_quote_does_not_swallow_the_next_rows(catalogue):
    case = next(c for c in CASES if c.name == "guillemet_non_ferme")
    (bad,) = catalogue.table(K.QUARANTINE, "interventions").filter(pl.col("file") == _label(case)).to_dicts()
    assert bad["line"] == 3 and bad["record_id"] == "INT-2" and "\n" not in bad["raw"]
    clean = pl.read_parquet(catalogue.home / "warehouse" / K.CLEAN / "interventions" / f"{day_of(case)}.parquet")
    ids = clean.filter(pl.col("_file") == _label(case)).sort("_line").get_column("id").to_list()
    assert ids == ["INT-1", "INT-3", "INT-4", "INT-5"]


@pytest.mark.parametrize("rel,words", UNASSIGNED, ids=[r for r, _ in UNASSIGNED])
def test_unassignable_file_is_recorded_with_a_french_reason(catalogue, rel, words):
    files = catalogue.table(K.GOVERNANCE, "landing_files")
    (row,) = files.filter(pl.col("file") == rel).to_dicts()
    assert row["partition"] is None and words in row["unassigned_reason"], row
    assert row["sha256"] and row["bytes"] > 0 and row["records"] == 1


def test_blocking_check_proves_the_balance_against_the_counter(catalogue):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(catalogue.home / "dagster"))
        instance = dg.DagsterInstance.from_config(str(catalogue.home / "dagster"))
        files = catalogue.table(K.GOVERNANCE, "landing_files").filter(
            pl.col("current") & pl.col("partition").is_not_null()
        )
        for source in sorted({c.source for c in CASES}):
            rec = instance.get_latest_asset_check_evaluation_record(
                dg.AssetCheckKey(K.quarantine_key(source), K.CHECK_NOTHING_LOST)
            )
            assert rec is not None and rec.status.value == "SUCCEEDED", source
            meta = rec.event.dagster_event.event_specific_data.metadata
            counted = files.filter(pl.col("source") == source).get_column("records").sum()
            assert meta["lus"].value == counted, (source, meta["lus"].value, counted)
            assert meta["lus"].value == (
                meta["propres"].value + meta["quarantaine"].value + meta["doublons_exacts"].value
            )


def test_quality_summary_counts_unassigned_files(catalogue):
    dq = {r["source"]: r for r in catalogue.table(K.GOVERNANCE, "data_quality").to_dicts()}
    assert dq["interventions"]["unassigned_files"] == 2 and dq["cortege"]["unassigned_files"] == 1
    assert dq["interventions"]["unbalanced_partitions"] == 0
    reasons = catalogue.table(K.GOVERNANCE, "quarantine_reasons")
    got = {(r["source"], r["reason"]) for r in reasons.to_dicts()}
    assert {
        ("interventions", "guillemet_non_ferme"),
        ("cortege", "entrees_non_liste"),
        ("incidents", "crs_inconnu"),
        ("interventions", "date_hors_bornes"),
    } <= got
    json.dumps(reasons.to_dicts())  # counts only: serialisable, no record content


def test_the_catalogue_readme_lists_every_case():
    readme = (Path(__file__).parent / "bad_inputs" / "README.md").read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case.name}" in readme, case.name
        assert case.make is not None or case.stored.exists(), case.stored
    for rel, _ in UNASSIGNED:
        assert rel in readme
