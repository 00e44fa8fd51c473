"""Sensor on the landing zone: a run for each new or changed landing file, exactly once (C3).

The cursor remembers each file's size, mtime and content hash; a file whose content changed
gets a new `run_key`, an unchanged one never triggers twice. Files of one source and day are
ingested together (the partition is the day), so the run key combines their hashes.
"""


import hashlib
import json
from pathlib import Path

import dagster as dg

from tranquillite import landing as landing_io
from tranquillite.assets import constants as K
from tranquillite.jobs import INGEST_JOB, source_selection
from tranquillite.resources import LandingZone


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan(landing: LandingZone, cursor: dict[str, str]) -> tuple[list[dg.RunRequest], dict[str, str], list[str]]:
    """Pure function behind the sensor: (run requests, new cursor, files skipped with reason)."""
    new_cursor = dict(cursor)
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
            new_cursor[rel] = f"{stamp}:{digest}"
            if old.endswith(":" + digest):
                continue  # touched, same content
            partition = landing_io.partition_of(Path(rel))
            if partition is None:
                skipped.append(f"{rel}: aucune date AAAA-MM-JJ dans le chemin")
                continue
            changed.setdefault((source, partition), []).append(digest)
    requests = []
    for (source, partition), digests in sorted(changed.items()):
        all_digests = sorted(new_cursor[p].rsplit(":", 1)[1] for p in new_cursor
                             if p.startswith(source + "/") and landing_io.partition_of(Path(p)) == partition)
        key = hashlib.sha256("|".join(all_digests).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(
            run_key=f"{source}:{partition}:{key}",
            partition_key=partition,
            asset_selection=source_selection(source),
            tags={"tranquillite/source": source, "tranquillite/declencheur": "depot_de_fichier"},
        ))
    return requests, new_cursor, skipped


@dg.sensor(
    name="landing_sensor",
    job_name=INGEST_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Demande l'ingestion de chaque fichier nouveau ou modifié de la zone d'atterrissage (une seule fois par contenu).",
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, new_cursor, skipped = scan(landing, cursor)
    for msg in skipped:
        context.log.warning(msg)
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True),
                           skip_reason=None if requests else "aucun fichier nouveau ou modifié")
