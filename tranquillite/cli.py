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
        raise argparse.ArgumentTypeError(f"date attendue au format AAAA-MM-JJ, reçu {s!r}") from None


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


def files_before(first: date) -> list[date]:
    """The days before `first` (the first partition) that landing files are dated with."""
    from tranquillite import landing
    from tranquillite.contracts import sources

    days = []
    for s in sources():
        for path in landing.source_files(paths().landing, s):
            key = landing.partition_of(path.relative_to(paths().landing))
            try:
                d = date.fromisoformat(key) if key else None
            except ValueError:
                d = None
            if d is not None and d < first:
                days.append(d)
    return days


def cmd_generate(a: argparse.Namespace) -> int:
    from tranquillite.synthetic import generate

    report = generate(paths().home, start=a.start, days=a.days, seed=a.seed, scale=a.scale)
    print(report.summary())
    return 0


def cmd_materialize(a: argparse.Namespace) -> int:
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    defs = build_defs()
    from tranquillite.resources.landing import partition_bounds
    from tranquillite.settings import partitions_start

    start, end = a.from_, a.to
    explicit = start is not None
    if (start is None) != (end is None):
        print("erreur: --from et --to vont ensemble", file=sys.stderr)
        return 2
    if start is None:
        skipped: list[str] = []

        def report(rel: str, why: str) -> None:
            skipped.append(rel)
            print(f"attention: {rel} non ingéré — {why}", file=sys.stderr)

        rng = landing_range(report)
        before = files_before(date.fromisoformat(partition_bounds()[0]))
        if rng is None and before:
            rng = (min(before), max(before))  # refused below, naming the setting
        if rng is None:
            what = "aucun fichier avec un jour d'export valide" if skipped else "aucun fichier"
            print(
                f"erreur: {what} dans {paths().landing} (lancer `tranquillite generate` ou déposer des exports)",
                file=sys.stderr,
            )
            return 2
        start, end = rng
    first = date.fromisoformat(partition_bounds()[0])
    if start < first and partitions_start() is None:  # the partitions start with the data
        print(
            f"attention: aucune donnée avant le {first} (première partition): plage ramenée à {first} → {end}",
            file=sys.stderr,
        )
        start = first
    # never an empty range nor a silent cut: say which setting to change and to what (#13)
    before = [] if explicit else files_before(first)
    if start < first:  # an explicit range before the partitions, or only files before them
        print(
            f"erreur: des données commencent le {min([start, *before])}, avant la première partition "
            f"{first} (réglage TRANQUILLITE_PARTITIONS_START={first}): rien n'a été ingéré. Définir "
            f"TRANQUILLITE_PARTITIONS_START={min([start, *before])} (ou plus tôt) puis relancer.",
            file=sys.stderr,
        )
        return 2
    if before:  # the other days are ingested; the earlier files are recorded, not read
        print(
            f"attention: {len(before)} fichier(s) datés du {min(before)} au {max(before)}, avant la première "
            f"partition {first}, ne sont pas ingérés: définir TRANQUILLITE_PARTITIONS_START={min(before)} "
            "pour les ingérer",
            file=sys.stderr,
        )
    last = date.fromisoformat(partition_bounds()[1])  # the last export day of the data, or today
    if end > last:
        if explicit and end <= date.today():
            print(
                f"attention: aucune donnée après le {last} (dernière partition, TRANQUILLITE_PARTITIONS_END): "
                f"plage ramenée à {start} → {last}",
                file=sys.stderr,
            )
        end = last
    if start > end:
        print(f"erreur: plage vide {start} → {end}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        for swept in runner.sweep_instance():
            print(f"attention: {swept.message()}", file=sys.stderr)
        outcomes = runner.materialize(defs, start, end, forecast=not a.no_forecast, train=True if a.train else None)
    except KeyboardInterrupt:
        print("interrompu: signal d'arrêt reçu, rien n'a été lancé après", file=sys.stderr)
        return 130
    for o in outcomes:
        for swept in o.swept:
            print(f"attention: {swept.message()}", file=sys.stderr)
        job = f"{o.job} ({o.scope})" if o.scope else o.job
        if o.skipped:
            print(f"{job}: non lancé — {o.reason}")
            continue
        print(
            f"{job}: {'succès' if o.success else 'ÉCHEC'} (run {o.run_id})"
            + (f" — contrôles en échec: {', '.join(o.failed_checks)}" if o.failed_checks else "")
            + (f" — {o.reason}" if o.reason and not o.success else "")
        )
    if any(o.interrupted for o in outcomes):
        print("interrompu: signal d'arrêt reçu, la chaîne s'est arrêtée", file=sys.stderr)
        return 130
    ok = all(o.success for o in outcomes)
    print(
        f"plage {start} → {end} matérialisée en {time.perf_counter() - t0:.1f} s"
        + ("" if ok else " — avec des échecs (voir ci-dessus)")
    )
    return 0 if ok else 1


def cmd_instance(a: argparse.Namespace) -> int:
    """The Dagster instance the services and `make ui` start on: in development the committed
    template written into a fresh home; in production the administrator's `dagster.yaml` checked
    (PostgreSQL). Run before `dagster dev`, the daemon and the webserver."""
    from tranquillite import runner
    from tranquillite.settings import settings

    try:
        inst = runner.instance()
    except runner.InstanceMisconfigured as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    storage = "PostgreSQL" if settings().is_production else "SQLite"
    print(f"instance Dagster: {paths().dagster_home / 'dagster.yaml'} (historique {storage})")
    inst.dispose()
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    defs = build_defs()
    from tranquillite.status import asset_status, format_status

    rows = asset_status(defs, runner.instance())
    print(json.dumps(rows, ensure_ascii=False, indent=2) if a.json else format_status(rows))
    _log_status_reads(defs, rows)
    return 0


def _log_status_reads(defs, rows: list[dict]) -> None:
    """`status` shows each asset's row count (Dagster's metadata): logged with the asset's conventions."""
    from tranquillite.app_core import reads
    from tranquillite.assets.conventions import conventions_of_tags

    graph = defs.resolve_asset_graph()
    got = [
        reads.Read(r["asset"], tuple(sorted(conventions_of_tags(graph.get(dg_key(r["asset"])).tags))), int(r["rows"]))
        for r in rows
        if r.get("rows")
    ]
    reads.log_cli("status", got)


def dg_key(user_string: str):
    import dagster as dg

    return dg.AssetKey.from_user_string(user_string)


def cmd_summary(a: argparse.Namespace) -> int:
    from tranquillite.app_core import reads
    from tranquillite.summary import summary

    got = _summary_reads()
    print(summary(paths(), {r.table: r.rows for r in got}))  # each table counted once, for both
    if got:
        reads.log_cli("summary", got)
    return 0


def _summary_reads() -> list:
    """`summary` counts the rows of every table: the access log records which (issue 11, T4)."""
    from tranquillite.app_core import queries
    from tranquillite.resources.warehouse import open_catalog

    cat = paths().warehouse / "catalog.duckdb"
    if not cat.exists():
        return []
    with open_catalog(cat) as con:
        return queries.table_reads(con)


# --------------------------------------------------------------------------- conventions (C9)
def _runner_defs():
    from tranquillite import runner
    from tranquillite.definitions import build_defs

    return runner, build_defs()


def cmd_convention_etat(a: argparse.Namespace) -> int:
    from tranquillite.app_core import store
    from tranquillite.conventions import registry

    with store.connect() as con:
        for code, lc in registry.lifecycles(con).items():
            if a.id and code != a.id:
                continue
            print(json.dumps(lc.describe(date.today()), ensure_ascii=False, indent=1))
    return 0


def cmd_convention_resilier(a: argparse.Namespace) -> int:
    """Record the notice; at (or past) the effective end, apply the effects and recompute."""
    from tranquillite.app_core import store
    from tranquillite.assets.destruction import recompute_without_ended
    from tranquillite.conventions import registry, usage
    from tranquillite.conventions.lifecycle import LifecycleError, fr

    with store.connect() as con:
        try:
            lc = registry.give_notice(con, a.id, a.date, a.par, login=a.login, profile="console", reference=a.reference)
        except (LifecycleError, LookupError) as exc:
            print(f"erreur: {exc}", file=sys.stderr)
            return 2
        print(
            f"{a.id}: dénoncée le {fr(a.date)} par {a.par}; fin effective le {fr(lc.end())}; "
            f"destruction au plus tard le {fr(lc.destruction_deadline)}"
        )
        if lc.in_force(date.today()):
            print("préavis en cours: les effets s'appliqueront à la fin effective (capteur des conventions)")
            return 0
        effects = usage.apply_end_effects(con, a.id)
    print(
        f"fin appliquée: {effects.get('comptes_desactives', 0)} compte(s) désactivé(s); Cortège fermé; "
        "données masquées dans l'application"
    )
    if a.sans_recalcul:
        return 0
    runner, defs = _runner_defs()
    outcomes = recompute_without_ended(defs, runner.instance())
    for o in outcomes:
        print(f"{o.job}: {'succès' if o.success else 'ÉCHEC'} (run {o.run_id})")
    return 0 if all(o.success for o in outcomes) else 1


def cmd_convention_detruire(a: argparse.Namespace) -> int:
    from tranquillite.app_core import store
    from tranquillite.assets.destruction import destruction_job, recompute_without_ended
    from tranquillite.conventions import attestation, registry
    from tranquillite.conventions.lifecycle import LifecycleError

    with store.connect() as con:
        try:
            row = registry.get(con, a.id)
            if a.ordonne_par and not row["destruction_ordered_by"]:
                registry.order_destruction(con, a.id, login=a.ordonne_par, profile="console")
        except (LifecycleError, LookupError) as exc:
            print(f"erreur: {exc}", file=sys.stderr)
            return 2
    runner, defs = _runner_defs()
    inst = runner.instance()
    if not a.sans_recalcul:
        for o in recompute_without_ended(defs, inst):
            print(f"{o.job}: {'succès' if o.success else 'ÉCHEC'} (run {o.run_id})")
    t0 = time.perf_counter()
    res = destruction_job.execute_in_process(
        instance=inst,
        raise_on_error=False,
        run_config={
            **runner.QUIET,
            "ops": {
                "detruire_convention": {
                    "config": {"convention": a.id, "executee_par": a.execute_par, "ordonnee_par": a.ordonne_par or ""}
                }
            },
        },
    )
    if not res.success:
        for ev in res.all_events:
            if ev.is_failure and ev.event_specific_data is not None:
                err = getattr(ev.event_specific_data, "error", None)
                print(f"erreur: {getattr(err, 'message', ev.message)}", file=sys.stderr)
        return 1
    path = res.output_for_node("detruire_convention")
    v = attestation.verify(__import__("pathlib").Path(path), paths().home)
    scan = v.scan.summary() if v.scan else {}
    print(f"destruction terminée en {time.perf_counter() - t0:.1f} s — attestation {path} (+ .pdf)")
    print(
        f"contrôle indépendant: {scan.get('traces_trouvees')} trace(s), {scan.get('fichiers_total')} fichiers examinés"
    )
    return 0 if v.ok else 1


def cmd_convention_confirmer(a: argparse.Namespace) -> int:
    from tranquillite.app_core import store
    from tranquillite.conventions import registry

    with store.connect() as con:
        try:
            registry.confirm_outside(con, a.id, a.element, login=a.par, profile="console")
        except LookupError as exc:
            print(f"erreur: {exc}", file=sys.stderr)
            return 2
    print(f"confirmation enregistrée ({a.par}): élément {a.element}")
    return 0


def cmd_attestation_verifier(a: argparse.Namespace) -> int:
    from tranquillite.conventions import attestation

    v = attestation.verify(a.fichier, paths().home, rescan=not a.sans_controle)
    print(
        f"signature: {'valide' if v.signature_ok else 'INVALIDE'}; clé de la plateforme: "
        f"{'oui' if v.platform_key else 'NON'}; PDF: {({True: 'conforme', False: 'NON CONFORME', None: 'absent'})[v.pdf_ok]}"
    )
    if v.scan is not None:
        s = v.scan.summary()
        print(
            f"contrôle: {s['traces_trouvees']} trace(s) dans {s['fichiers_total']} fichiers ({s['octets_examines']} octets)"
        )
        for h in s["traces"][:20]:
            print(f"  trace: {h['fichier']} ({h['type']})")
    for p in v.problems:
        print(f"problème: {p}", file=sys.stderr)
    return 0 if v.ok or (a.sans_controle and v.signature_ok and v.platform_key and v.pdf_ok is not False) else 1


def cmd_magasin_migrer(a) -> int:
    """The store's schema to its head (with the owner's role on PostgreSQL), then the app's role granted."""
    from tranquillite.app_core import store

    try:
        out = store.migrate()
        store.init_store()
    except store.StoreMisconfigured as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    before = out["avant"] or ("magasin d'avant Alembic" if out["ancien_magasin"] else "vide")
    print(f"magasin {store.describe()}: révision {out['apres']} (avant: {before})")
    return 0


def cmd_magasin_droits(a) -> int:
    """GRANT the app's PostgreSQL role its rights (INSERT/SELECT only on the append-only records)."""
    from tranquillite.app_core import store

    try:
        stmts = store.grant_app_role(a.role)
    except store.StoreMisconfigured as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    print(f"rôle {a.role}: {len(stmts)} instructions GRANT/REVOKE appliquées")
    return 0


def main(argv: list[str] | None = None) -> int:
    from tranquillite.settings import SettingsError, check

    try:
        check(stores=("dagster", "app"))
    except SettingsError as exc:
        print(f"erreur: {exc}", file=sys.stderr)
        return 2
    from tranquillite.filemodes import private_home

    private_home()  # umask 077, home 0700: files readable by the service user only
    p = argparse.ArgumentParser(
        prog="tranquillite",
        description=(
            "Plateforme Big Data de la Tranquillité Publique. Données dans $TRANQUILLITE_HOME "
            f"(actuellement {paths().home})."
        ),
    )
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
    m.add_argument(
        "--sans-prevision",
        dest="no_forecast",
        action="store_true",
        help="ne pas relancer l'entraînement ni la prévision (caractéristiques, backtest, prévision)",
    )
    m.add_argument(
        "--entrainer",
        dest="train",
        action="store_true",
        help=(
            "relancer l'entraînement (backtest, champion, modèles en service) avant la prévision; "
            "sans cette option il n'a lieu que si aucun modèle n'est en service"
        ),
    )
    m.set_defaults(fn=cmd_materialize)
    s = sub.add_parser("status", help="état de chaque asset: dernière matérialisation, lignes, partitions, contrôles")
    s.add_argument("--json", action="store_true", help="sortie JSON")
    s.set_defaults(fn=cmd_status)
    sub.add_parser(
        "instance", help="prépare (développement) ou vérifie (production) l'instance Dagster des services"
    ).set_defaults(fn=cmd_instance)
    r = sub.add_parser("summary", help="bilan: lignes par table, quarantaine par raison, défauts injectés")
    r.set_defaults(fn=cmd_summary)
    # --- conventions (#12): termination, destruction, attestation
    cv = sub.add_parser("convention", help="cycle de vie des conventions: état, résiliation, destruction (C9)")
    cvs = cv.add_subparsers(dest="convention_cmd", required=True)
    e = cvs.add_parser("etat", help="état et dates de chaque convention")
    e.add_argument("id", nargs="?")
    e.set_defaults(fn=cmd_convention_etat)
    rs = cvs.add_parser("resilier", help="enregistre la dénonciation (date de réception de la LRAR)")
    rs.add_argument("id")
    rs.add_argument("--date", type=_date, required=True, help="date de la dénonciation (AAAA-MM-JJ)")
    rs.add_argument("--par", choices=["ville", "partenaire"], default="partenaire", help="partie qui dénonce")
    rs.add_argument("--reference", help="référence du courrier recommandé")
    rs.add_argument("--login", default="console", help="qui enregistre (journal)")
    rs.add_argument("--sans-recalcul", action="store_true", help="ne pas recalculer les prévisions sans ses données")
    rs.set_defaults(fn=cmd_convention_resilier)
    dt = cvs.add_parser(
        "detruire", help="détruit ses données et écrit l'attestation sous $TRANQUILLITE_HOME/attestations/"
    )
    dt.add_argument("id")
    dt.add_argument("--ordonne-par", default="", help="qui ordonne (si l'ordre n'est pas déjà enregistré)")
    dt.add_argument("--execute-par", default="exploitant", help="qui exécute")
    dt.add_argument("--sans-recalcul", action="store_true", help="ne pas recalculer avant de détruire")
    dt.set_defaults(fn=cmd_convention_detruire)
    cf = cvs.add_parser("confirmer", help="enregistre qui confirme la destruction d'une copie hors plateforme")
    cf.add_argument("id")
    cf.add_argument("--element", type=int, required=True, help="numéro de l'élément (outside_platform, à partir de 0)")
    cf.add_argument("--par", required=True, help="qui confirme")
    cf.set_defaults(fn=cmd_convention_confirmer)
    at = sub.add_parser("attestation", help="attestations de destruction")
    ats = at.add_subparsers(dest="attestation_cmd", required=True)
    vf = ats.add_parser(
        "verifier", help="vérifie la signature et refait le contrôle (code 0 seulement si tout va bien)"
    )
    vf.add_argument("fichier", type=__import__("pathlib").Path)
    vf.add_argument("--sans-controle", action="store_true", help="signature seulement")
    vf.set_defaults(fn=cmd_attestation_verifier)
    mg = sub.add_parser("magasin", help="magasin de l'application (SQLite ou PostgreSQL): migrations, rôles")
    mgs = mg.add_subparsers(dest="magasin_cmd", required=True)
    mgs.add_parser("migrer", help="amène le schéma à sa dernière révision (Alembic)").set_defaults(
        fn=cmd_magasin_migrer
    )
    dr = mgs.add_parser("droits", help="PostgreSQL: droits du rôle de l'application (journal d'accès en ajout seul)")
    dr.add_argument("--role", required=True, help="le rôle PostgreSQL de l'application (ex. tranquillite_app)")
    dr.set_defaults(fn=cmd_magasin_droits)
    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
