"""A realistic, deterministic synthetic Marseille: the platform's default data.

`generate(home)` writes the landing files of the five generated sources exactly in the formats
of the data contracts, and the ground truth under `home/synthetic_truth/`:

* `landing/interventions/interventions_AAAA-MM-JJ.csv` — Police Municipale (~110,000/year);
* `landing/alertes_videoprotection/alertes_videoprotection_AAAA-MM-JJ.csv` — CSU (~36,000/year,
  1,600 cameras);
* `landing/signalements/signalements_AAAA-MM-JJ.csv` — citizens' reports (~30,000/year);
* `landing/evenements_publics/evenements_publics_AAAA-MM-JJ.csv` — the public events calendar
  (~700/year), each event in the file of its publication day;
* `landing/cortege/prefecture_AAAA-MM-JJ.json` — the Préfecture entries entered that day
  (~420 marching and ~380 static demonstrations, ~900 operations, ~90 visits a year).

Ground truth (zstd Parquet):

* `intensity.parquet` — one row per source × H3 res-9 cell (every cell with non-zero weight) ×
  8-hour shift (`slot_start` at 06:00, 14:00, 22:00 Europe/Paris, the first one being 22:00 the
  day before the span start): `background` = expected count from the background, the transient
  hot spots and the planned events' surges; `excitation` = expected near-repeat offspring in the slot from events that
  happened before the slot start (the part a forecaster can know at the slot start);
  `excitation_intra` = expected offspring in the slot from parents inside the same slot. The
  three columns add up to the integrated true conditional intensity: their sum over the span
  equals the number of generated events up to Poisson noise, while background + excitation
  alone is ~14 % lower for interventions and alerts (α = 0.3, mean delay 6 h).
* `events.parquet` — every true event: source, record_id, timestamp (Europe/Paris), lon, lat
  (true location, even when the export omits it), h3_cell, category, parent_id, generation,
  cause (background / surge / offspring / transient: a hot spot that appears and fades),
  surge_event_id (EVT-… or PP-… of the planned event).
* `defects.parquet` — `GenerationReport.defects`; `manifest.json` — arguments, counts, version.

`scale` multiplies the volumes of the three incident sources; the planned calendar (public events,
Préfecture entries) is the city's agenda and does not scale. Same arguments → byte-identical files.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from tranquillite.contracts import load_contracts
from tranquillite.synthetic import config as C
from tranquillite.synthetic.agenda import build_agenda
from tranquillite.synthetic.defects import defects_frame, inject_cortege, inject_csv
from tranquillite.synthetic.internal import build_surges, simulate, truth_frame
from tranquillite.synthetic.prefecture import build_entries
from tranquillite.synthetic.records import agenda_records, incident_records
from tranquillite.synthetic.space import cameras, space
from tranquillite.synthetic.timeprofile import PARIS, TimeGrid
from tranquillite.synthetic import generic
from tranquillite.parquet_stream import ParquetStream
from tranquillite.synthetic.writers import (
    OWNED_SOURCES,
    clean_landing,
    csv_path,
    json_path,
    write_cortege,
    write_csv_source,
)

__all__ = ["generate", "GenerationReport", "INCIDENT_SOURCES", "OWNED_SOURCES"]

INCIDENT_SOURCES = ("interventions", "alertes_videoprotection", "signalements")
TRUTH_DIR = "synthetic_truth"


@dataclass
class GenerationReport:
    """What `generate` wrote."""

    files: list[Path]
    rows_per_source: dict[str, int]
    defects: pl.DataFrame
    seconds: float
    events_per_source: dict[str, int] = field(default_factory=dict)
    arguments: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        a = self.arguments
        lines = [
            f"Synthetic Marseille: {a.get('start')} + {a.get('days')} days, seed {a.get('seed')}, "
            f"scale {a.get('scale')} — {len(self.files)} files in {self.seconds:.1f} s"
        ]
        for source, n in self.rows_per_source.items():
            ev = self.events_per_source.get(source)
            lines.append(f"  {source:<26} {n:>8} records" + (f" ({ev} true events)" if ev is not None else ""))
        if self.defects.height:
            counts = self.defects.group_by("kind").len().sort("kind")
            lines.append(f"  defects: {self.defects.height} — " + ", ".join(f"{k} {v}" for k, v in counts.iter_rows()))
        return "\n".join(lines)


def generate(
    home: Path, start: date = date(2025, 1, 1), days: int = 365, seed: int = 42, scale: float = 1.0
) -> GenerationReport:
    """Generate the synthetic landing files and ground truth under `home` (see module doc)."""
    t_start = time.perf_counter()
    home = Path(home)
    if days < 1:
        raise ValueError("days must be >= 1")
    if scale < 0:
        raise ValueError("scale must be >= 0")
    contracts = load_contracts()
    grid = TimeGrid(start, days)
    sp, cams = space(), cameras()

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    # ------------------------------------------------------------------ planned calendar
    agenda = build_agenda(grid, rng(1))
    entries = build_entries(grid, contracts, rng(2))
    surges = build_surges(grid, sp, agenda, entries)

    # ------------------------------------------------------------------ incidents
    supports = {
        "interventions": np.arange(sp.n),
        "alertes_videoprotection": np.sort(cams.point),
        "signalements": np.arange(sp.n),
    }
    records: dict[str, pl.DataFrame] = {}
    truth_events = []
    truth = home / TRUTH_DIR
    if truth.is_dir():
        shutil.rmtree(truth)
    truth.mkdir(parents=True)
    # the intensities (every cell × slot: ~30 M rows for eight years) are written a source at a time
    with ParquetStream(truth / "intensity.parquet") as intensity:  # no half-written file on a failure
        for k, source in enumerate(INCIDENT_SOURCES):
            sim = simulate(source, grid, sp, supports[source], surges, scale, rng(10 + k))
            rec, ev = incident_records(sim, grid, sp, cams, rng(20 + k))
            records[source] = rec
            truth_events.append(ev)
            intensity.write(truth_frame(sim, grid, sp))
            del sim
    records["evenements_publics"] = agenda_records(agenda, rng(25))

    # ------------------------------------------------------------------ defects
    defect_rows = []
    for k, source in enumerate(("interventions", "alertes_videoprotection", "signalements", "evenements_publics")):
        records[source], rows = inject_csv(
            records[source], contracts[source], rng(30 + k), lambda day, s=source: csv_path(s, day), variant=k
        )
        defect_rows += rows
    file_of_entry = lambda e: json_path(e.saisi_le.astimezone(PARIS).date().isoformat())  # noqa: E731
    cortege_docs, rows = inject_cortege(entries, contracts, rng(40), file_of_entry, variant=3)
    defect_rows += rows
    defects = defects_frame(defect_rows)

    # ------------------------------------------------------------------ write
    day_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    clean_landing(home)
    files: list[Path] = []
    rows_per_source: dict[str, int] = {}
    for source in ("interventions", "alertes_videoprotection", "signalements", "evenements_publics"):
        files += write_csv_source(home, contracts[source], records[source], day_list)
        rows_per_source[source] = records[source].height
    for k, c in enumerate(generic.unmodelled(contracts)):  # a source the generator has no model of (issue 16)
        rec = generic.records(c, grid, sp, scale, rng(60 + k))
        files += write_csv_source(home, c, rec, day_list)
        rows_per_source[c.source] = rec.height
    by_day: dict[str, list] = {}
    for e, doc in cortege_docs:
        by_day.setdefault(e.saisi_le.astimezone(PARIS).date().isoformat(), []).append(doc)
    files += write_cortege(home, by_day, day_list)
    rows_per_source["cortege"] = len(cortege_docs)

    events = pl.concat(truth_events).sort(["source", "timestamp", "record_id"])
    events.write_parquet(truth / "events.parquet", compression="zstd", statistics=False)
    defects.write_parquet(truth / "defects.parquet", compression="zstd", statistics=False)
    counted = dict(events.group_by("source").len().iter_rows())
    events_per_source = {s: int(counted.get(s, 0)) for s in INCIDENT_SOURCES}
    arguments = {"start": start.isoformat(), "days": days, "seed": seed, "scale": scale}
    manifest = {
        "generator": "tranquillite.synthetic",
        "version": C.GENERATOR_VERSION,
        "arguments": arguments,
        "rows_per_source": rows_per_source,
        "events_per_source": events_per_source,
        "defects_per_kind": dict(sorted(Counter(defects["kind"].to_list()).items())),
        "defects_total": defects.height,
        "prefecture_entries_per_type": dict(sorted(Counter(e.record_type for e in entries).items())),
        "surges": dict(sorted(Counter(s.kind for s in surges).items())),
        "cameras": int(cams.ids.size),
        "parameters": {
            "alpha": C.ALPHA,
            "delay_mean_h": C.DELAY_MEAN_H,
            "delay_max_h": C.DELAY_MAX_H,
            "neighbour_radius_m": C.NEIGHBOUR_RADIUS_M,
            "max_generation": C.MAX_GENERATION,
            "transient": C.TRANSIENT,
            "transient_life_weeks": list(C.TRANSIENT_LIFE_WEEKS),
            "transient_sigma_m": list(C.TRANSIENT_SIGMA_M),
            "hotspot_strength": C.HOTSPOT_STRENGTH,
            "per_year_scale_1": C.PER_YEAR,
            "slots": "8-hour shifts starting 06:00, 14:00, 22:00 Europe/Paris",
        },
        "files": {
            "intensity.parquet": "source, h3_cell, slot_start, background, excitation, excitation_intra",
            "events.parquet": "source, record_id, timestamp, lon, lat, h3_cell, category, parent_id, "
            "generation, cause, surge_event_id",
            "defects.parquet": "source, contract, file, record_id, kind, field, detail",
        },
    }
    (truth / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files += [truth / "events.parquet", truth / "intensity.parquet", truth / "defects.parquet", truth / "manifest.json"]
    return GenerationReport(
        files=sorted(files),
        rows_per_source=rows_per_source,
        defects=defects,
        seconds=time.perf_counter() - t_start,
        events_per_source=events_per_source,
        arguments=arguments,
    )
