"""A CLI range run recorded as a backfill, so that the Dagster UI lists it under *Backfills*.

`tranquillite materialize --du … --au …` runs a range of daily partitions as ONE run
(`execute_in_process`, single-run backfill): without a backfill record the UI shows it as a
"Manually launched" run. Each run of the chain that covers partitions (ingestion, training,
forecast) gets a backfill id before it starts (the `dagster/backfill` tag on the run, which the
UI uses to link the run to its backfill and to hide it from the plain run list), and the backfill
itself is recorded once the run has ended, with its range, its assets and its final status.

The record is written only after the run: a backfill still `REQUESTED` or in progress would be
picked up by the daemon (`make ui`), which would launch runs of its own for the range.

Dagster has no public API to *record* a backfill that was executed elsewhere:
`PartitionBackfill` and `AssetBackfillData` are internal (`dagster._core`). They are used in
`record_range_backfill` alone; tests/test_pipeline.py::test_backfill_of_a_range_is_a_single_run
reads the record back through the instance and fails if Dagster's behaviour changes.
"""

from __future__ import annotations

import time
from datetime import date

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id

BACKFILL_TAG = "dagster/backfill"  # dagster._core.storage.tags.BACKFILL_ID_TAG
new_backfill_id = make_new_backfill_id


def _materialized(inst: dg.DagsterInstance, run_id: str, graph) -> AssetGraphSubset:
    """What the run actually materialised (asset × partition)."""
    done = set()
    for rec in inst.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000
    ).records:
        mat = rec.event_log_entry.asset_materialization
        if mat is not None and graph.has(mat.asset_key):
            done.add(AssetKeyPartitionKey(mat.asset_key, mat.partition))
    return AssetGraphSubset.from_asset_partition_set(done, graph)


def record_range_backfill(
    inst: dg.DagsterInstance,
    defs: dg.Definitions,
    backfill_id: str,
    job_name: str,
    assets: list[dg.AssetKey],
    start: date,
    end: date,
    run_id: str,
    success: bool,
    started: float,
) -> PartitionBackfill:
    """Record the ended run `run_id` (tagged `dagster/backfill=backfill_id`) as a completed
    backfill of the partitions [start, end] of `assets`."""
    from tranquillite.assets.partitions import DAILY

    graph = defs.resolve_asset_graph()
    keys = DAILY.get_partition_keys_in_range(dg.PartitionKeyRange(start.isoformat(), end.isoformat()))
    bf = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=graph,
        partition_names=keys,
        asset_selection=assets,
        backfill_timestamp=started,
        tags={"tranquillite/job": job_name},
        dynamic_partitions_store=inst,
        all_partitions=False,
        title=f"{job_name} du {start.isoformat()} au {end.isoformat()}",
        description=(
            "Plage de jours exécutée en une seule exécution par la ligne de commande "
            f"(tranquillite materialize, exécution {run_id})."
        ),
        run_config=None,
    )
    data = bf.asset_backfill_data
    target = data.target_subset
    done = target if success else (_materialized(inst, run_id, graph) & target)
    data = data._replace(
        requested_subset=target,
        materialized_subset=done,
        failed_and_downstream_subset=target - done,
        requested_runs_for_target_roots=True,
    )
    bf = bf._replace(
        asset_backfill_data=data,
        status=BulkActionStatus.COMPLETED_SUCCESS if success else BulkActionStatus.COMPLETED_FAILED,
        backfill_end_timestamp=time.time(),
    )
    inst.add_backfill(bf)
    return bf
