"""Every day of a small generated demo: records written by the generator = records counted by the
independent counter = clean + quarantined + exact duplicates, and the blocking checks say so."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest

from tranquillite import record_count
from tranquillite.assets import constants as K
from tranquillite.contracts import sources
from tranquillite.landing import source_format

pytestmark = pytest.mark.slow
START, DAYS = date(2025, 1, 6), 3
NEW_CODES = {
    "date_hors_bornes",
    "valeur_hors_bornes",
    "champ_trop_long",
    "guillemet_non_ferme",
    "lecture_divergente",
    "entrees_non_liste",
    "crs_inconnu",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    from tranquillite.jobs import INGEST_JOB, RANGE_END_TAG, RANGE_START_TAG
    from tranquillite.synthetic import generate

    home = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANQUILLITE_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        report = generate(home, start=START, days=DAYS, seed=42, scale=0.25)
        defs, instance = build_defs(), runner.instance()
        last = date.fromordinal(START.toordinal() + DAYS - 1)
        res = defs.resolve_job_def(INGEST_JOB).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=runner.QUIET,
            tags={RANGE_START_TAG: START.isoformat(), RANGE_END_TAG: last.isoformat()},
        )
        assert res.success
        yield home, report, instance


def _table(home, name) -> pl.DataFrame:
    return pl.read_parquet(str(home / "warehouse" / "governance" / name / "*.parquet"))


def test_every_day_balances_against_the_independent_counter(demo):
    home, report, instance = demo
    ledger = _table(home, "ingestion_ledger")
    # a source with no landing file (`incidents` in Marseille) is skipped, not processed every day (#13)
    fed = [s for s in sources() if (home / "landing" / s).exists()]
    assert "incidents" not in fed and len(fed) == len(sources()) - 1
    assert ledger.height == DAYS * len(fed)
    assert set(ledger["source"].unique().to_list()) == set(fed)
    assert ledger.filter(~pl.col("balanced")).height == 0, ledger.filter(~pl.col("balanced"))
    assert (ledger.get_column("read") == ledger.get_column("parsed")).all()
    # the ledger's `read` is what the counter found in the landing files, file by file
    files = _table(home, "landing_files").filter(pl.col("current") & pl.col("partition").is_not_null())
    recount = {}
    for r in files.iter_rows(named=True):
        data = open(r["path"], "rb").read()
        assert r["records"] == record_count.count(data, source_format(r["source"])).records
        recount[(r["source"], r["partition"])] = recount.get((r["source"], r["partition"]), 0) + r["records"]
    assert {(s, p): n for s, p, n in ledger.select("source", "partition", "read").iter_rows() if n} == {
        k: v for k, v in recount.items() if v
    }
    # … and what the generator wrote
    per_source = dict(ledger.group_by("source").agg(pl.col("read").sum()).iter_rows())
    for source, written in report.rows_per_source.items():
        assert per_source[source] == written, (source, per_source[source], written)
    for source in fed:
        rec = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(K.quarantine_key(source), K.CHECK_NOTHING_LOST)
        )
        assert rec.status.value == "SUCCEEDED", source


def test_the_demo_meets_no_new_bound_by_accident(demo):
    """The synthetic records are plausible: the new rules quarantine none of them (the summary's
    injected/found comparison stays exact)."""
    home, _, _ = demo
    q = pl.read_parquet(str(home / "warehouse" / "quarantine" / "*" / "*.parquet"))
    codes = set(q.select(pl.col("reasons").explode().str.split(":").list.first()).to_series().to_list())
    assert not codes & NEW_CODES, codes & NEW_CODES


def test_ledger_figures_per_source(demo, capsys):
    """Prints the per-source figures of the demo (read in the report): counted, clean, quarantined, duplicates."""
    home, _, _ = demo
    ledger = (
        _table(home, "ingestion_ledger")
        .group_by("source")
        .agg(pl.col("read", "parsed", "clean", "quarantined", "duplicates").sum())
        .sort("source")
    )
    with capsys.disabled():
        print("\n" + str(ledger))
    assert (
        ledger.get_column("read")
        == ledger.get_column("clean") + ledger.get_column("quarantined") + ledger.get_column("duplicates")
    ).all()
