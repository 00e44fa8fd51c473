"""Sensor on the landing zone: a run for each new or changed landing file, exactly once (C3).

The cursor remembers each file's size, mtime and content hash; a file whose content changed
gets a new `run_key`, an unchanged one never triggers twice. Files of one source and day are
ingested together (the partition is the day), so the run key combines their hashes.

A file that cannot be given a day (no date in its name, an impossible date, a date before the
first partition or after today) is reported once per content by a log line and skipped: the
other files of the evaluation are requested as usual (a single such file used to make every
evaluation fail). A file dated after today is looked at again, and requested when its day comes.
The run itself records such files in `governance.landing_files`.

Import budget (issue 14): importing this module loads neither dagster nor a data library (numpy,
polars, duckdb); the Dagster sensor `landing_sensor` is built on first access (PEP 562), and `scan`
imports dagster when it builds its run requests. (No `from __future__ import annotations` here: Dagster
reads the sensor function's annotations to inject its resource.)
"""

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tranquillite import landing as landing_io
from tranquillite.assets import constants as K
from tranquillite.settings import partitions_start

if TYPE_CHECKING:
    import dagster as dg

    from tranquillite.resources.landing import LandingZone


def _sha(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _load(cursor: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(files ingested → 'size:mtime:sha', files reported → sha); older cursors were the first map."""
    d = json.loads(cursor) if cursor else {}
    if "files" in d and isinstance(d["files"], dict):
        return dict(d["files"]), dict(d.get("reported") or {})
    return d, {}


def scan(
    landing: "LandingZone",
    cursor: dict[str, str],
    reported: dict[str, str] | None = None,
    bounds: tuple[str, str] | None = None,
    start_follows_data: bool | None = None,
) -> "tuple[list[dg.RunRequest], dict[str, str], list[str], dict[str, str]]":
    """Pure function behind the sensor: (run requests, new cursor, files skipped with reason — new
    reports only —, files reported). When the partitions start with the data (no
    `TRANQUILLITE_PARTITIONS_START`), a file dated before the first day waits, like a later one,
    for the definitions to load with its day."""
    import dagster as dg

    from tranquillite.jobs import source_selection
    from tranquillite.resources.landing import partition_bounds

    first, last = bounds or partition_bounds()
    if start_follows_data is None:
        start_follows_data = partitions_start() is None
    new_cursor = dict(cursor)
    reported = dict(reported or {})
    changed: dict[tuple[str, str], list[str]] = {}
    skipped: list[str] = []
    for source in K.SOURCES:
        for path in landing.files(source):
            rel = path.relative_to(landing.path).as_posix()
            st = path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
            old = cursor.get(rel, "")
            if old.startswith(stamp + ":"):
                continue
            digest = _sha(path)
            assignment = landing_io.assign(Path(rel), first, last)
            if assignment.partition is None:
                if reported.get(rel) != digest:
                    skipped.append(f"{rel}: non ingéré — {assignment.reason}")
                    reported[rel] = digest
                earlier = start_follows_data and (landing_io.partition_of(Path(rel)) or "9") < first
                if not (assignment.later or earlier):  # never assignable: remembered like an ingested file
                    new_cursor[rel] = f"{stamp}:{digest}"
                continue
            reported.pop(rel, None)
            new_cursor[rel] = f"{stamp}:{digest}"
            if old.endswith(":" + digest):
                continue  # touched, same content
            changed.setdefault((source, assignment.partition), []).append(digest)
    requests = []
    for (source, partition), _digests in sorted(changed.items()):
        all_digests = sorted(
            new_cursor[p].rsplit(":", 1)[1]
            for p in new_cursor
            if p.startswith(source + "/") and landing_io.assign(Path(p), first, last).partition == partition
        )
        key = hashlib.sha256("|".join(all_digests).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"{source}:{partition}:{key}",
                partition_key=partition,
                asset_selection=source_selection(source),
                tags={"tranquillite/source": source, "tranquillite/declencheur": "depot_de_fichier"},
            )
        )
    return requests, new_cursor, skipped, reported


def _build_sensor():
    import dagster as dg

    from tranquillite.jobs import INGEST_JOB
    from tranquillite.resources.landing import LandingZone

    @dg.sensor(
        name="landing_sensor",
        job_name=INGEST_JOB,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Demande l'ingestion de chaque fichier nouveau ou modifié de la zone d'atterrissage (une seule "
            "fois par contenu); signale sans bloquer les fichiers sans jour d'export valide."
        ),
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
        cursor, reported = _load(context.cursor)
        requests, new_cursor, skipped, reported = scan(landing, cursor, reported)
        for msg in skipped:
            context.log.warning(msg)
        return dg.SensorResult(
            run_requests=requests,
            cursor=json.dumps({"files": new_cursor, "reported": reported}, sort_keys=True),
            skip_reason=None if requests else "aucun fichier nouveau ou modifié",
        )

    return landing_sensor


def __getattr__(name: str):
    if name == "landing_sensor":  # the Dagster definition, built once on first access
        sensor = globals()["landing_sensor"] = _build_sensor()
        return sensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
