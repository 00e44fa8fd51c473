"""The shape of the whole code location, as plain data: asset keys with their group, owners and
partitioning, asset checks (blocking or not), jobs, schedules (cron) and sensors.

`python -m tests.definitions_snapshot` rewrites tests/snapshots/definitions.json after a deliberate
change; `tests/test_definitions_snapshot.py` fails on any other change, so that a renamed asset, a
job that lost an asset or a schedule moved by accident shows in review as a diff of that file."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        pdef = node.partitions_def
        assets[key.to_user_string()] = {
            "groupe": node.group_name,
            "proprietaires": sorted(node.owners),
            "partitions": type(pdef).__name__ if pdef is not None else None,
            "amont": sorted(p.to_user_string() for p in node.parent_keys),
        }
    checks = {}
    for ck in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        spec = graph.get_check_spec(ck)
        checks[f"{ck.asset_key.to_user_string()}:{ck.name}"] = {"bloquant": bool(spec.blocking)}
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__ASSET_JOB"):
            continue
        jobs[job.name] = sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name} for s in sorted(defs.schedules or [], key=lambda s: s.name)
    }
    sensors = sorted(s.name for s in (defs.sensors or []))
    return {"actifs": assets, "controles": checks, "jobs": jobs, "planifications": schedules, "capteurs": sensors}


def main() -> None:
    from tranquillite.definitions import build_defs

    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(
        json.dumps(snapshot(build_defs()), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"écrit {SNAPSHOT}")


if __name__ == "__main__":
    main()
