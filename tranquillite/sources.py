"""What each source of `clean.events` is, read from its data contract — the one place to declare it.

A contract's `event:` block says how its records become events (`category`, `start`, `geometry`, …)
and, for the rest of the platform, what the source is:

    event:
      category: interventions          # the `source` of its rows in clean.events
      kind: fait                       # fait (observed facts) | prevu (planned events)
      label: Interventions de la Police Municipale   # the family, on the map's legend and filters
      item: Intervention               # one record, in explanations and alerts
      colour: [0, 114, 178, 200]       # RGBA on the map (colour-blind friendly palette)
      forecast: true                   # fait: a forecast target; prevu: an exposure of the forecasts
      demonstration: false             # prevu: a demonstration (collision alerts between them)
      order: 10                        # rank in legends and lists

The map (`app_core.carte`), the indicators (`indicators.config`: fact and planned sources,
labels), the forecasts' default sources (`forecasting.study_area`) and the alerts and tension
explanations read this registry; nothing else lists the sources. Several contracts may share a
category (the Préfecture's four Cortège record types each have their own): they must then agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from tranquillite.contracts import Contract, ContractError, load_contracts

KINDS = ("fait", "prevu")
REQUIRED = ("category", "kind", "label", "item", "colour")


@dataclass(frozen=True)
class EventSource:
    code: str  # clean.events.source
    kind: Literal["fait", "prevu"]
    label: str
    item: str
    colour: tuple[int, int, int, int]
    forecast: bool
    demonstration: bool
    order: int
    contracts: tuple[str, ...]
    conventions: tuple[str, ...]

    @property
    def is_fact(self) -> bool:
        return self.kind == "fait"


def _declared(c: Contract) -> dict:
    e = c.event
    where = f"{c.name}.yaml: event"
    missing = [k for k in REQUIRED if k not in e]
    if missing:
        raise ContractError(f"{where} lacks {missing} (see tranquillite/sources.py)")
    if e["kind"] not in KINDS:
        raise ContractError(f"{where}.kind is {e['kind']!r}: fait or prevu expected")
    colour = e["colour"]
    if (
        not isinstance(colour, list)
        or len(colour) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in colour)
    ):
        raise ContractError(f"{where}.colour is {colour!r}: four integers 0–255 (RGBA) expected")
    for k in ("forecast", "demonstration"):
        if not isinstance(e.get(k, False), bool):
            raise ContractError(f"{where}.{k} is {e.get(k)!r}: true or false expected")
    if e.get("demonstration") and e["kind"] != "prevu":
        raise ContractError(f"{where}: only a planned source (kind: prevu) can be a demonstration")
    if not isinstance(e.get("order", 1000), int):
        raise ContractError(f"{where}.order is {e.get('order')!r}: an integer expected")
    return {
        "kind": e["kind"],
        "label": str(e["label"]),
        "item": str(e["item"]),
        "colour": tuple(colour),
        "forecast": bool(e.get("forecast", False)),
        "demonstration": bool(e.get("demonstration", False)),
        "order": int(e.get("order", 1000)),
    }


@lru_cache(maxsize=8)
def _registry(directory: str | None) -> tuple[EventSource, ...]:
    by_code: dict[str, dict] = {}
    members: dict[str, list[Contract]] = {}
    for c in load_contracts(directory).values():
        if not c.event:
            continue
        d = _declared(c)
        code = str(c.event["category"])
        if code in by_code and by_code[code] != d:
            first = members[code][0].name
            raise ContractError(
                f"{c.name}.yaml and {first}.yaml share the event category {code!r} but "
                "declare it differently (kind, label, item, colour, forecast, demonstration, order)"
            )
        by_code[code] = d
        members.setdefault(code, []).append(c)
    out = [
        EventSource(
            code=code,
            contracts=tuple(sorted(m.name for m in members[code])),
            conventions=tuple(sorted({m.convention for m in members[code]})),
            **d,
        )
        for code, d in by_code.items()
    ]
    return tuple(sorted(out, key=lambda s: (s.order, s.code)))


def event_sources(directory: str | None = None) -> dict[str, EventSource]:
    """Every source of clean.events, in display order (facts and planned events mixed: see `kind`)."""
    return {s.code: s for s in _registry(directory)}


def fact_sources(directory: str | None = None) -> tuple[str, ...]:
    return tuple(s.code for s in _registry(directory) if s.kind == "fait")


def planned_sources(directory: str | None = None) -> tuple[str, ...]:
    return tuple(s.code for s in _registry(directory) if s.kind == "prevu")


def forecast_facts(directory: str | None = None) -> tuple[str, ...]:
    """The facts the forecasts predict by default (a study area's settings may choose others)."""
    return tuple(s.code for s in _registry(directory) if s.kind == "fait" and s.forecast)


def forecast_planned(directory: str | None = None) -> tuple[str, ...]:
    """The planned events the forecasts use as exposure by default."""
    return tuple(s.code for s in _registry(directory) if s.kind == "prevu" and s.forecast)


def demonstrations(directory: str | None = None) -> tuple[str, ...]:
    return tuple(s.code for s in _registry(directory) if s.demonstration)


def labels(directory: str | None = None) -> dict[str, str]:
    """Source → the family's French name (legends, filters)."""
    return {s.code: s.label for s in _registry(directory)}


def items(directory: str | None = None) -> dict[str, str]:
    """Source → one record's French name (explanations, alerts)."""
    return {s.code: s.item for s in _registry(directory)}


def colours(directory: str | None = None) -> dict[str, list[int]]:
    return {s.code: list(s.colour) for s in _registry(directory)}
