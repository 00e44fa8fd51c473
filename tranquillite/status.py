"""What every asset looks like in the persistent instance: `tranquillite status`."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg


def asset_status(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dict]:
    graph = defs.resolve_asset_graph()
    out = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        ev = instance.get_latest_materialization_event(key)
        mat = ev.asset_materialization if ev else None
        rows = None
        if mat is not None and "dagster/row_count" in mat.metadata:
            rows = mat.metadata["dagster/row_count"].value
        partitions = None
        if node.partitions_def is not None:
            done = instance.get_materialized_partitions(key)
            partitions = {"done": len(done), "total": node.partitions_def.get_num_partitions()}
        checks = []
        for ck in sorted(node.check_keys, key=lambda c: c.name):
            rec = instance.get_latest_asset_check_evaluation_record(ck)
            status = rec.status.value if rec else "JAMAIS_EXECUTE"
            checks.append({"name": ck.name, "status": status, "run_id": rec.run_id if rec else None})
        out.append({
            "asset": key.to_user_string(),
            "group": node.group_name,
            "last_materialization": (datetime.fromtimestamp(ev.timestamp, tz=timezone.utc).isoformat()
                                     if ev else None),
            "run_id": ev.run_id if ev else None,
            "rows": rows,
            "partitions": partitions,
            "checks": checks,
        })
    return out


def format_status(rows: list[dict]) -> str:
    lines = [f"{'asset':42} {'dernière matérialisation':26} {'lignes':>9} {'partitions':>11}  contrôles"]
    for r in rows:
        parts = f"{r['partitions']['done']}/{r['partitions']['total']}" if r["partitions"] else "-"
        ok = sum(c["status"] == "SUCCEEDED" for c in r["checks"])
        ko = [c["name"] for c in r["checks"] if c["status"] != "SUCCEEDED"]
        checks = f"{ok}/{len(r['checks'])} ok" + (f" — à voir: {', '.join(ko)}" if ko else "") if r["checks"] else "-"
        when = (r["last_materialization"] or "jamais")[:19].replace("T", " ")
        rows_ = "-" if r["rows"] is None else f"{r['rows']:,}".replace(",", " ")
        lines.append(f"{r['asset']:42} {when:26} {rows_:>9} {parts:>11}  {checks}")
    return "\n".join(lines)
