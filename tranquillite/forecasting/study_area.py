"""The study area, chosen by configuration: where, at which H3 resolution, which sources, which shifts.

`AreaSpec` is the plain description the forecasting functions take; `StudyArea` is the Dagster
resource that builds it (defaults: Marseille, its 16 arrondissements, H3 resolution 9, the City's
three fact sources and the Préfecture's and the City's planned events). Another city only needs
a GeoJSON of its zones (`boundary_path`, `zone_property`) and point facts under the generic
`incidents` contract: `StudyArea(boundary_path="ville.geojson", zone_property="code",
sources=["incidents"], planned_sources=[])`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from tranquillite import geo

FACT_SOURCES = ("interventions", "alertes_videoprotection", "signalements")
PLANNED_SOURCES = ("manifestation_deambulatoire", "manifestation_statique", "operation_programmee",
                   "visite_officielle", "evenements_publics")
ALL = "all"


@dataclass(frozen=True)
class AreaSpec:
    """Everything the forecasting functions need to know about the study area."""

    name: str = "Marseille"
    boundary_path: str | None = None       # None: Marseille's arrondissements (geo.marseille())
    zone_property: str = "insee_arm"
    h3_resolution: int = 9
    sources: tuple[str, ...] = FACT_SOURCES
    planned_sources: tuple[str, ...] = PLANNED_SOURCES
    shift_hours: tuple[int, ...] = (6, 14, 22)
    timezone: str = "Europe/Paris"
    holidays_country: str = "FR"
    school_holidays_subdivision: str | None = "Zone B"
    route_buffer_m: float = 100.0          # a marching route touches the cells within this distance
    planned_margin_h: float = 1.0          # a planned event is "on" from start - margin to end + margin
    exposure_rings: tuple[int, ...] = (1, 4)  # H3 rings around a planned event's cells (k)
    # planned sources whose records are told apart by their subcategory (its contract enumeration):
    # a match and a market of the same attendance do not weigh alike
    kinds_by_subcategory: tuple[str, ...] = ("evenements_publics",)
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def groups(self) -> list[str]:
        """Category groups forecast separately (their sum is the group `all`)."""
        return list(self.sources)

    def exposure_kinds(self) -> dict[str, list[str]]:
        """Planned source → its exposure kinds: the source itself, or for the sources of
        `kinds_by_subcategory` one kind per value of the subcategory's enumeration in the source's
        contract, plus `<source>_autre` (missing or unknown value)."""
        out: dict[str, list[str]] = {}
        for s in self.planned_sources:
            values = subcategory_values(s) if s in self.kinds_by_subcategory else []
            out[s] = [f"{s}_{slug(v)}" for v in values] + [f"{s}_autre"] if values else [s]
        return out

    def area(self) -> geo.Area:
        if self.boundary_path is None:
            return geo.marseille()
        return geo.area_from_file(Path(self.boundary_path), self.zone_property, name=self.name)


def slug(text: str) -> str:
    """'Match de football' → 'match_de_football', 'Salon / foire' → 'salon_foire'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def subcategory_values(source: str) -> list[str]:
    """The enumeration of the field a source's contract maps to `subcategory` (empty if none)."""
    from tranquillite.contracts import load_contracts
    for c in load_contracts().values():
        if c.source != source or not c.event or not c.event.get("subcategory"):
            continue
        f = next((f for f in c.fields if f.name == c.event["subcategory"]), None)
        if f is not None and f.values:
            return list(f.values)
    return []


class StudyArea(dg.ConfigurableResource):
    """Study area of the forecasts (defaults: Marseille). Change it here, not in code."""

    name: str = "Marseille"
    boundary_path: str | None = None
    zone_property: str = "insee_arm"
    h3_resolution: int = 9
    sources: list[str] = list(FACT_SOURCES)
    planned_sources: list[str] = list(PLANNED_SOURCES)
    shift_hours: list[int] = [6, 14, 22]
    timezone: str = "Europe/Paris"
    holidays_country: str = "FR"
    school_holidays_subdivision: str | None = "Zone B"
    route_buffer_m: float = 100.0
    kinds_by_subcategory: list[str] = ["evenements_publics"]

    def spec(self) -> AreaSpec:
        return AreaSpec(name=self.name, boundary_path=self.boundary_path, zone_property=self.zone_property,
                        h3_resolution=self.h3_resolution, sources=tuple(self.sources),
                        planned_sources=tuple(_in_force(self.planned_sources)), shift_hours=tuple(self.shift_hours),
                        timezone=self.timezone, holidays_country=self.holidays_country,
                        school_holidays_subdivision=self.school_holidays_subdivision,
                        route_buffer_m=self.route_buffer_m,
                        kinds_by_subcategory=tuple(self.kinds_by_subcategory))


def _in_force(sources: list[str]) -> list[str]:
    """Planned sources without those of ended conventions (their data are no longer used, #12)."""
    from tranquillite.conventions.usage import in_force_sources
    return in_force_sources(sources)
