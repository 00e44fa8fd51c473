"""`tranquillite` command line: generate, materialize, status, demo."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date

from tranquillite.settings import paths


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date attendue au format AAAA-MM-JJ, reçu {s!r}")


def landing_range(report=None) -> tuple[date, date] | None:
    """First and last day that have landing files. Files that cannot be given a day are passed to
    `report(path, reason)` and left out of the range (the ingestion records them)."""
    from tranquillite import landing
    from tranquillite.contracts import sources
    from tranquillite.resources.landing import partition_bounds
    first, last = partition_bounds()
    days: list[str] = []
    for s in sources():
        by_day, unassigned = landing.inventory(paths().landing, s, first, last)
        days += list(by_day)
        for path, a in unassigned:
            if report is not None:
                report(path.relative_to(paths().landing).as_posix(), a.reason)
    if not days:
        return None
    return date.fromisoformat(min(days)), date.fromisoformat(max(days))


def cmd_generate(a: argparse.Namespace) -> int:
    from tranquillite.synthetic import generate
    report = generate(paths().home, start=a.start, days=a.days, seed=a.seed, scale=a.scale)
    print(report.summary())
    return 0


def cmd_materialize(a: argparse.Namespace) -> int:
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    defs = build_defs()
    from tranquillite.settings import partitions_start
    start, end = a.from_, a.to
    if (start is None) != (end is None):
        print("erreur: --from et --to vont ensemble", file=sys.stderr)
        return 2
    if start is None:
        skipped: list[str] = []

        def report(rel: str, why: str) -> None:
            skipped.append(rel)
            print(f"attention: {rel} non ingéré — {why}", file=sys.stderr)

        rng = landing_range(report)
        if rng is None:
            what = "aucun fichier avec un jour d'export valide" if skipped else "aucun fichier"
            print(f"erreur: {what} dans {paths().landing} (lancer `tranquillite generate` "
                  "ou déposer des exports)", file=sys.stderr)
            return 2
        start, end = rng
    first = date.fromisoformat(partitions_start())
    if start < first:
        print(f"attention: partitions avant {first} ignorées (TRANQUILLITE_PARTITIONS_START)", file=sys.stderr)
        start = first
    if end > date.today():
        end = date.today()
    if start > end:
        print(f"erreur: plage vide {start} → {end}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    outcomes = runner.materialize(defs, start, end, forecast=not a.no_forecast)
    ok = all(o.success for o in outcomes)
    for o in outcomes:
        print(f"{o.job}: {'succès' if o.success else 'ÉCHEC'} (run {o.run_id})"
              + (f" — contrôles en échec: {', '.join(o.failed_checks)}" if o.failed_checks else ""))
    print(f"plage {start} → {end} matérialisée en {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


def cmd_status(a: argparse.Namespace) -> int:
    from tranquillite import runner
    from tranquillite.definitions import build_defs
    defs = build_defs()
    from tranquillite.status import asset_status, format_status
    rows = asset_status(defs, runner.instance())
    print(json.dumps(rows, ensure_ascii=False, indent=2) if a.json else format_status(rows))
    return 0


def cmd_summary(a: argparse.Namespace) -> int:
    from tranquillite.summary import summary
    print(summary(paths()))
    return 0


def main(argv: list[str] | None = None) -> int:
    from tranquillite.settings import SettingsError, check
    try:
        check()
    except SettingsError as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    p = argparse.ArgumentParser(prog="tranquillite", description=(
        "Plateforme Big Data de la Tranquillité Publique. Données dans $TRANQUILLITE_HOME "
        f"(actuellement {paths().home})."))
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="génère des données synthétiques de Marseille dans la zone d'atterrissage")
    g.add_argument("--start", type=_date, default=date(2025, 1, 1), help="premier jour (AAAA-MM-JJ)")
    g.add_argument("--days", type=int, default=365, help="durée en jours (défaut 365)")
    g.add_argument("--seed", type=int, default=42, help="graine aléatoire (défaut 42)")
    g.add_argument("--scale", type=float, default=1.0, help="facteur de volume (défaut 1.0)")
    g.set_defaults(fn=cmd_generate)
    m = sub.add_parser("materialize", help="matérialise le graphe (ou une plage de partitions) dans l'instance Dagster")
    m.add_argument("--from", dest="from_", type=_date, help="premier jour de la plage")
    m.add_argument("--to", type=_date, help="dernier jour de la plage")
    m.add_argument("--sans-prevision", dest="no_forecast", action="store_true",
                   help="ne pas relancer le job prevision (caractéristiques, backtest, prévision)")
    m.set_defaults(fn=cmd_materialize)
    s = sub.add_parser("status", help="état de chaque asset: dernière matérialisation, lignes, partitions, contrôles")
    s.add_argument("--json", action="store_true", help="sortie JSON")
    s.set_defaults(fn=cmd_status)
    r = sub.add_parser("summary", help="bilan: lignes par table, quarantaine par raison, défauts injectés")
    r.set_defaults(fn=cmd_summary)
    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
