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
        files = None
        if mat is not None and FILE_FIGURES[0] in mat.metadata:
            files = {k: mat.metadata[k].value for k in FILE_FIGURES if k in mat.metadata}
        out.append(
            {
                "asset": key.to_user_string(),
                "files": files,
                "group": node.group_name,
                "last_materialization": (
                    datetime.fromtimestamp(ev.timestamp, tz=timezone.utc).isoformat() if ev else None
                ),
                "run_id": ev.run_id if ev else None,
                "rows": rows,
                "partitions": partitions,
                "checks": checks,
            }
        )
    return out


# figures of the landing files, in the metadata of raw/<source> and governance/landing_files/<source>
FILE_FIGURES = (
    "fichiers",
    "enregistrements_comptes",
    "enregistrements_lus",
    "versions_nouvelles_apres_ingestion",
    "enregistrements_ajoutes",
    "enregistrements_supprimes",
    "enregistrements_modifies",
    "fichiers_non_assignes",
)


def format_files(rows: list[dict]) -> list[str]:
    """Per source, what its last ingestion found in the landing files (counts only)."""
    lines = []
    for r in rows:
        f = r.get("files")
        if not f or not r["asset"].startswith("governance/landing_files/"):
            continue
        source = r["asset"].rsplit("/", 1)[1]
        n = {k: f.get(k, 0) for k in FILE_FIGURES}
        lines.append(
            f"  {source:26} fichiers {n['fichiers']:>5}  comptés {n['enregistrements_comptes']:>7}"
            f"  modifiés après ingestion {n['versions_nouvelles_apres_ingestion']:>3}"
            f" (+{n['enregistrements_ajoutes']} −{n['enregistrements_supprimes']}"
            f" ~{n['enregistrements_modifies']})  sans jour valide {n['fichiers_non_assignes']:>3}"
        )
    return (["", "Fichiers déposés (dernière ingestion de chaque source):"] + lines) if lines else []


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
    return "\n".join(lines + format_files(rows))
