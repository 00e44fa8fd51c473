"""The clean step validates a range a chunk of days at a time (`clean.CHUNK_DAYS`): eight years of a
source are no longer held in memory at once. Every rule, duplicate and ledger line is per record or
per day, so the tables written, what the materialisations say and the checks' verdicts are the same
whatever the chunk: a week ingested two days at a time equals the week ingested at once."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

pytestmark = pytest.mark.slow
START, DAYS = date(2025, 1, 6), 7
TABLES = ("clean", "quarantine", "governance/ingestion_ledger")  # what the clean step writes


def _ingest(home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    from tranquillite.jobs import INGEST_JOB, RANGE_END_TAG, RANGE_START_TAG

    monkeypatch.setenv("TRANQUILLITE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    last = START + timedelta(days=DAYS - 1)
    res = (
        build_defs()
        .resolve_job_def(INGEST_JOB)
        .execute_in_process(
            instance=runner.instance(),
            raise_on_error=False,
            run_config=runner.QUIET,
            tags={RANGE_START_TAG: START.isoformat(), RANGE_END_TAG: last.isoformat()},
        )
    )
    assert res.success
    said = {}
    for e in res.get_asset_materialization_events():
        m = e.materialization
        said[(m.asset_key.to_user_string(), m.partition)] = {
            k: v.value for k, v in m.metadata.items() if k != "duree_s"
        }
    checks = {
        (c.asset_key.to_user_string(), c.check_name): (c.passed, {k: v.value for k, v in c.metadata.items()})
        for c in res.get_asset_check_evaluations()
    }
    return said, checks


def _files(home: Path) -> dict[str, pl.DataFrame]:
    wh = home / "warehouse"
    return {
        str(p.relative_to(wh)): pl.read_parquet(p)
        for t in TABLES
        for p in sorted((wh / t).rglob("*.parquet"))
        if not p.name.startswith(".")
    }


def test_a_range_cleaned_two_days_at_a_time_equals_the_range_cleaned_at_once(tmp_path, monkeypatch):
    from tranquillite.assets import clean
    from tranquillite.assets import constants as K
    from tranquillite.synthetic import generate

    once, chunked = tmp_path / "une_fois", tmp_path / "par_deux_jours"
    generate(once, start=START, days=DAYS, seed=42, scale=0.25)
    shutil.copytree(once / "landing", chunked / "landing")
    assert clean.CHUNK_DAYS >= DAYS  # the default: the week in one chunk
    said_once, checks_once = _ingest(once, monkeypatch)

    batches = []
    validate = clean.validate
    monkeypatch.setattr(clean, "CHUNK_DAYS", 2)
    monkeypatch.setattr(clean, "validate", lambda raw, *a, **k: batches.append(raw.height) or validate(raw, *a, **k))
    said_chunked, checks_chunked = _ingest(chunked, monkeypatch)

    sources = [p for p in (once / "landing").iterdir() if p.is_dir()]
    assert len(batches) == 4 * len(sources) and len(sources) >= 5  # 2 + 2 + 2 + 1 days for every source
    a, b = _files(once), _files(chunked)
    assert sorted(a) == sorted(b) and len(a) > 100
    assert any(k.startswith("quarantine/") and df.height for k, df in a.items())  # defects were quarantined
    for k in a:
        assert_frame_equal(a[k], b[k])
    assert said_once == said_chunked
    assert checks_once == checks_chunked
    quarantine = {k: v for k, v in said_once.items() if k[0].startswith("quarantine/")}
    assert quarantine and all(v["raisons"] for v in quarantine.values())
    assert all(passed for (_, name), (passed, _) in checks_once.items() if name == K.CHECK_NOTHING_LOST)
