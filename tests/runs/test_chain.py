"""Which job of a `materialize` chain needs which (`jobs.REQUIRES`) follows the asset graph: every
asset a job reads from another job is produced by a job it requires, or is an input it may read
as last published (`jobs.OPTIONAL_UPSTREAM`: the indicators, the forecast, the models in service)."""

from __future__ import annotations

from tranquillite import jobs
from tranquillite.assets import constants as K
from tranquillite.definitions import build_defs

SELECTIONS = {
    jobs.INGEST_JOB: jobs.ingest_selection,
    jobs.PUBLISH_JOB: jobs.publish_selection,
    jobs.TRAINING_JOB: jobs.training_selection,
    jobs.PREVISION_JOB: jobs.prevision_selection,
    jobs.INDICATORS_JOB: jobs.indicators_selection,
}


def test_required_jobs_follow_the_asset_graph(home):
    graph = build_defs().resolve_asset_graph()
    # the DuckDB catalog, and the lineage per convention it publishes, are recomputed by several jobs
    # over whatever tables exist: no input of them
    keys = {job: sel.resolve(graph) - {K.CATALOG_KEY, K.CONVENTION_LINEAGE_KEY} for job, sel in SELECTIONS.items()}
    producer = {}
    for job in SELECTIONS:  # a key selected by two jobs: the earlier one produces it
        for k in keys[job]:
            producer.setdefault(k, job)
    for job in SELECTIONS:
        upstream = {p for k in keys[job] for p in graph.get(k).parent_keys} - keys[job]
        feeding = {producer[p] for p in upstream if p in producer and producer[p] != job}
        allowed = set(jobs.REQUIRES.get(job, ())) | set(jobs.OPTIONAL_UPSTREAM.get(job, ()))
        assert feeding <= allowed, (job, feeding - allowed)
        assert set(jobs.REQUIRES.get(job, ())) <= feeding, job  # a required job does feed it
    # the forecast is an optional input of the indicators: a failed forecast does not stop them
    assert jobs.PREVISION_JOB not in jobs.REQUIRES[jobs.INDICATORS_JOB]
    # the daily forecast reads the models in service: a failed training leaves the previous ones
    assert jobs.TRAINING_JOB in jobs.OPTIONAL_UPSTREAM[jobs.PREVISION_JOB]
    assert jobs.TRAINING_JOB not in jobs.REQUIRES[jobs.PREVISION_JOB]
