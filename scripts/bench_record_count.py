"""Benchmark of the independent record counter against the parser it checks (same run, same data).

    .venv/bin/python scripts/bench_record_count.py [lines]

Prints, for a `;` CSV of `lines` records (a quoted field with `;` and doubled quotes in each) and
a JSON array of as many entries: the counter's time (numpy, no loop over lines), the csv / json
module's time on the same bytes (the baseline), and the full landing reader's time.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tranquillite import landing, record_count  # noqa: E402


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(n: int = 100_000) -> None:
    header = (
        "N° intervention;Catégorie;Début;Fin;Adresse;Code postal;Longitude;Latitude;Unité;Suite donnée;Observations"
    )
    row = (
        'INT-{i};Rixe / violences;08/03/2025 23:10;09/03/2025 00:05;"La Canebière; 13001 Marseille";13001;'
        '5.379177;43.296909;Brigade de nuit;Rappel à la loi;"Témoin: ""rixe"" rue de Rome"'
    )
    data = (header + "\n" + "\n".join(row.format(i=i) for i in range(n)) + "\n").encode()
    entries = [
        {"id": f"PP-{i}", "type": "visite_officielle", "objet": 'Visite [officielle], "ministre"'} for i in range(n)
    ]
    jdata = json.dumps(entries, ensure_ascii=False, indent=1).encode()
    counter_csv = _best(lambda: record_count.count_csv(data))
    parser_csv = _best(lambda: sum(1 for _ in csv.reader(io.StringIO(data.decode()), delimiter=";")))
    counter_json = _best(lambda: record_count.count_json(jdata))
    parser_json = _best(lambda: len(json.loads(jdata)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "interventions" / "interventions_2025-03-08.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        reader = _best(lambda: landing.read_file(path, Path(tmp), "interventions"), repeat=1)
    assert record_count.count_csv(data).records == n and record_count.count_json(jdata).records == n
    print(f"{n} enregistrements — CSV {len(data) / 1e6:.1f} Mo, JSON {len(jdata) / 1e6:.1f} Mo")
    print(f"  compteur CSV     {counter_csv * 1000:8.1f} ms   (module csv, référence: {parser_csv * 1000:8.1f} ms)")
    print(f"  compteur JSON    {counter_json * 1000:8.1f} ms   (module json, référence: {parser_json * 1000:8.1f} ms)")
    print(f"  lecteur complet  {reader * 1000:8.1f} ms   (CSV: décodage, csv, comptage, réconciliation, DataFrame)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
