"""Data sheet per source (T8): what its contract states, and what the platform measured.

*Stated* (`data_contracts/<source>.yaml`): nature, provenance, owner, confidentiality (convention
and personal data), timeliness, reliability, declared volume, retention. *Measured* through the
gateway: records per day and volume from `clean.events`, completeness (export days received over
the days of the period, days whose counts do not balance) and the share quarantined from the
ingestion ledger, and the delay between an event and the arrival of its file (the file's first
arrival minus the event's start, at the hour: for planned events it is negative — announced ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from tranquillite import sources as S
from tranquillite.app_core import formats as F
from tranquillite.app_core import queries
from tranquillite.app_core.rights import Scope
from tranquillite.contracts import Contract, load_contracts, load_conventions
from tranquillite.settings import settings
from tranquillite.timezones import PARIS_NAME

EVENTS = "clean.events"


@dataclass
class Measures:
    """What the ledger, the landing files and the clean events say of one contract's records."""

    records: int = 0  # clean events of the contract's category
    first_day: date | None = None
    last_day: date | None = None
    days_received: int = 0  # export days with a ledger row
    days_span: int = 0  # days from the first to the last export day
    days_unbalanced: int = 0
    read: int = 0  # records counted in the files (the whole landing source)
    quarantined: int = 0
    duplicates: int = 0
    delay_median_h: float | None = None
    delay_p90_h: float | None = None
    delay_records: int = 0
    shared_with: tuple[str, ...] = ()  # other contracts of the same landing source (one ledger for them all)

    @property
    def per_day(self) -> float | None:
        return self.records / self.days_received if self.days_received else None

    @property
    def quarantined_share(self) -> float | None:
        return self.quarantined / self.read if self.read else None

    @property
    def completeness(self) -> float | None:
        return self.days_received / self.days_span if self.days_span else None


def contracts_in_scope(scope: Scope) -> list[Contract]:
    """The contracts of the event sources the scope sees, in the sources' order."""
    order = list(S.event_sources())
    cats = set(scope.row_sources)
    out = [c for c in load_contracts().values() if c.event.get("category") in cats]
    return sorted(out, key=lambda c: (order.index(c.event["category"]) if c.event["category"] in order else 99, c.name))


def _weighted_quantile(values: pl.Series, weights: pl.Series, q: float) -> float | None:
    df = pl.DataFrame({"v": values, "w": weights}).drop_nulls().sort("v")
    total = float(df.get_column("w").sum() or 0)
    if total <= 0:
        return None
    df = df.with_columns((pl.col("w").cum_sum() / total).alias("c"))
    return float(df.filter(pl.col("c") >= q).get_column("v").first())


def measure(cat: queries.Catalog, scope: Scope) -> dict[str, Measures]:
    """Measures of every contract in the scope (three scoped reads, aggregates only)."""
    contracts = contracts_in_scope(scope)
    if not contracts:
        return {}
    by_cat = {c.event["category"]: c for c in contracts}
    events = queries.scoped_query(
        cat,
        scope,
        EVENTS,
        select="source, _partition AS partition, date_trunc('hour', start) AS heure, count(*) AS n",
        where="list_contains(?::VARCHAR[], source)",
        params=[sorted(by_cat)],
        group_by="source, partition, heure",
        level="rows",
    )
    try:
        ledger = queries.ledger_by_day(cat, scope)
    except queries.NotAvailable:
        ledger = pl.DataFrame(
            schema={
                "source": pl.Utf8,
                "partition": pl.Utf8,
                "read": pl.Int64,
                "clean": pl.Int64,
                "quarantined": pl.Int64,
                "duplicates": pl.Int64,
                "balanced": pl.Boolean,
            }
        )
    try:
        arrivals = queries.arrivals_by_day(cat, scope)
    except queries.NotAvailable:
        arrivals = pl.DataFrame(
            schema={"source": pl.Utf8, "partition": pl.Utf8, "arrivee": pl.Datetime("us", "UTC"), "fichiers": pl.Int64}
        )
    tz = settings().timezone or PARIS_NAME
    if arrivals.height:
        arrivals = arrivals.with_columns(
            pl.col("arrivee")
            .dt.convert_time_zone(tz)
            .dt.replace_time_zone(None)
            .cast(pl.Datetime("us"))
            .alias("arrivee_locale")
        )
    landing_of = {c.event["category"]: c.source for c in contracts}
    members: dict[str, list[str]] = {}
    for c in load_contracts().values():
        members.setdefault(c.source, []).append(c.name)
    out: dict[str, Measures] = {}
    for category, contract in by_cat.items():
        m = Measures(shared_with=tuple(sorted(set(members.get(contract.source, [])) - {contract.name})))
        ev = events.filter(pl.col("source") == category)
        m.records = int(ev.get_column("n").sum() or 0) if ev.height else 0
        led = ledger.filter(pl.col("source") == landing_of[category])
        if led.height:
            days = led.get_column("partition").str.to_date(strict=False).drop_nulls()
            if days.len():
                m.first_day, m.last_day = days.min(), days.max()
                m.days_span = (m.last_day - m.first_day).days + 1
            m.days_received = int(led.height)
            m.days_unbalanced = int((~led.get_column("balanced").fill_null(False)).sum())
            m.read = int(led.get_column("read").sum() or 0)
            m.quarantined = int(led.get_column("quarantined").sum() or 0)
            m.duplicates = int(led.get_column("duplicates").sum() or 0)
        arr = arrivals.filter(pl.col("source") == landing_of[category]) if arrivals.height else arrivals
        if ev.height and arr.height:
            d = ev.join(arr.select("partition", "arrivee_locale"), on="partition", how="inner").with_columns(
                (
                    (pl.col("arrivee_locale") - pl.col("heure").cast(pl.Datetime("us"))).dt.total_minutes() / 60.0 - 0.5
                ).alias("delai_h")
            )  # the event at mid-hour
            if d.height:
                m.delay_median_h = _weighted_quantile(d.get_column("delai_h"), d.get_column("n"), 0.5)
                m.delay_p90_h = _weighted_quantile(d.get_column("delai_h"), d.get_column("n"), 0.9)
                m.delay_records = int(d.get_column("n").sum())
        out[contract.name] = m
    return out


def duration(hours: float | None) -> str:
    """« 3 h », « 2,5 jours », « 4 jours avant »: a delay in words (negative: before the event)."""
    if hours is None:
        return "non mesuré"
    before = hours < 0
    h = abs(hours)
    text = F.plural(round(h, 1), "heure") if h < 48 else F.plural(round(h / 24, 1), "jour")
    return f"{text} avant l'événement" if before else f"{text} après l'événement"


def stated(contract: Contract) -> dict[str, str]:
    """The contract's statements, in the sheet's words."""
    meta = contract.meta
    convention = load_conventions().get(contract.convention) or {}
    volume = meta.get("volume") or {}
    declared = (
        f"{F.integer(volume['per_year'])} par an" + (f" ({volume['note']})" if volume.get("note") else "")
        if isinstance(volume, dict) and volume.get("per_year")
        else "non déclaré"
    )
    return {
        "Nature": contract.title
        + (
            f" — {S.event_sources()[contract.event['category']].label}"
            if contract.event.get("category") in S.event_sources()
            else ""
        ),
        "Provenance": str(meta.get("provider") or "non déclarée") + f" (format {contract.format.upper()})",
        "Propriétaire": str(meta.get("owner") or "non déclaré"),
        "Confidentialité": f"convention « {convention.get('title', contract.convention)} »; "
        + str(meta.get("personal_data") or "données personnelles non déclarées"),
        "Fraîcheur annoncée": str(meta.get("timeliness") or "non déclarée"),
        "Fiabilité annoncée": str(meta.get("reliability") or "non déclarée"),
        "Volume annoncé": declared,
        "Conservation": str(meta.get("retention") or "non déclarée"),
    }


def measured(m: Measures) -> dict[str, str]:
    """The measures, in the sheet's words."""
    shared = (
        f" (dépôt commun avec {', '.join(m.shared_with)}: le registre d'ingestion compte leurs "
        "enregistrements ensemble)"
        if m.shared_with
        else ""
    )
    period = f"du {m.first_day:%d/%m/%Y} au {m.last_day:%d/%m/%Y}" if m.first_day and m.last_day else "aucun dépôt"
    return {
        "Volume": f"{F.plural(m.records, 'enregistrement')} valides, {period}",
        "Enregistrements par jour": (
            f"{F.number(m.per_day, 1)} en moyenne par jour d'export reçu" if m.per_day is not None else "non mesuré"
        )
        + (f" (soit ~{F.integer(m.per_day * 365)} par an)" if m.per_day else ""),
        "Complétude": (
            f"{F.integer(m.days_received)} jour(s) d'export reçus sur {F.integer(m.days_span)} "
            f"({F.percent(m.completeness)}); {F.integer(m.days_unbalanced)} jour(s) dont les comptes "
            "ne s'équilibrent pas"
            if m.completeness is not None
            else "non mesurée"
        ),
        "Part en quarantaine": (
            f"{F.percent(m.quarantined_share, 1)} ({F.integer(m.quarantined)} sur "
            f"{F.integer(m.read)} comptés dans les fichiers; {F.integer(m.duplicates)} doublon(s) "
            f"exact(s)){shared}"
            if m.quarantined_share is not None
            else "non mesurée"
        ),
        "Délai d'arrivée": (
            f"médiane {duration(m.delay_median_h)}; 9 enregistrements sur 10 arrivés au plus tard "
            f"{duration(m.delay_p90_h)} — du début de l'événement à la première arrivée de son "
            f"fichier ({F.plural(m.delay_records, 'enregistrement')}, à l'heure près)"
            if m.delay_median_h is not None
            else "non mesuré"
        ),
    }
