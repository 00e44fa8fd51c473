"""The whole `Definitions` against its committed snapshot (asset keys, groups, owners, partitions,
checks, jobs, schedules, sensors). After a deliberate change: `python -m tests.definitions_snapshot`."""

import json

from tests.definitions_snapshot import SNAPSHOT, snapshot
from tranquillite.definitions import build_defs


def test_the_definitions_match_their_snapshot():
    current = snapshot(build_defs())
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for part in ("actifs", "controles", "jobs", "planifications", "capteurs"):
        added = sorted(set(current[part]) - set(committed[part]))
        removed = sorted(set(committed[part]) - set(current[part]))
        assert not added and not removed, (
            f"{part}: ajoutés {added}, retirés {removed} — "
            "après un changement voulu: python -m tests.definitions_snapshot"
        )
    assert current == committed, (
        "un actif, contrôle, job ou planification a changé — python -m tests.definitions_snapshot"
    )


def test_the_snapshot_sees_what_matters():
    snap = snapshot(build_defs())
    assert snap["actifs"]["clean/events"]["groupe"] == "clean"
    assert any(v["bloquant"] for v in snap["controles"].values())
    assert snap["jobs"] and snap["planifications"] and snap["capteurs"]
