"""The study area, chosen by configuration: where, at which H3 resolution, which sources, which shifts.

`AreaSpec` is the plain description the forecasting functions take; `StudyArea` is the Dagster
resource that builds it (defaults: Marseille, its 16 arrondissements, H3 resolution 9, the City's
three fact sources and the Préfecture's and the City's planned events). Another city only needs
a GeoJSON of its zones (`boundary_path`, `zone_property`) and point facts under the generic
`incidents` contract: `StudyArea(boundary_path="ville.geojson", zone_property="code",
sources=["incidents"], planned_sources=[])`.

The code location binds `StudyArea.from_settings()`: the area is chosen by the settings
(`TRANQUILLITE_AREA`: `marseille`, a boundary file in any format and CRS, or `donnees` — the H3
cells of the events —, `TRANQUILLITE_TIMEZONE`, `TRANQUILLITE_HOLIDAYS_COUNTRY`,
`TRANQUILLITE_SCHOOL_HOLIDAYS`, `TRANQUILLITE_SHIFT_HOURS`, `TRANQUILLITE_SOURCES`…), never by code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from tranquillite import geo
from tranquillite import sources as S
from tranquillite.timezones import PARIS_NAME

# the default forecast sources: those whose contract declares `forecast: true` (tranquillite/sources.py)
FORECAST_FACTS = S.forecast_facts()
FORECAST_PLANNED = S.forecast_planned()
ALL = "all"
DATA_AREA_FILE = "zone_d_etude.geojson"  # the area of `TRANQUILLITE_AREA=donnees`, under warehouse/features


@dataclass(frozen=True)
class AreaSpec:
    """Everything the forecasting functions need to know about the study area."""

    name: str = "Marseille"
    boundary_path: str | None = None  # None: Marseille's arrondissements (geo.marseille())
    zone_property: str | None = "insee_arm"
    # no boundary: the area is the H3 cells of the events (`TRANQUILLITE_AREA=donnees`), written
    # by `features.study_grid` to `boundary_path` (a GeoJSON) from the clean events
    from_data: bool = False
    h3_resolution: int = 9
    sources: tuple[str, ...] = FORECAST_FACTS
    planned_sources: tuple[str, ...] = FORECAST_PLANNED
    shift_hours: tuple[int, ...] = (6, 14, 22)
    timezone: str = PARIS_NAME
    holidays_country: str = "FR"
    school_holidays_subdivision: str | None = "Zone B"
    route_buffer_m: float = 100.0  # a marching route touches the cells within this distance
    planned_margin_h: float = 1.0  # a planned event is "on" from start - margin to end + margin
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
        path = Path(self.boundary_path)
        if self.from_data and not path.exists():
            raise FileNotFoundError(
                f"zone d'étude issue des données ({path}) pas encore calculée: "
                "matérialiser features/study_grid après la publication des événements"
            )
        return geo.area_from_file(path, self.zone_property or None, name=self.name)

    @property
    def is_marseille(self) -> bool:
        return self.boundary_path is None and not self.from_data


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
    zone_property: str | None = "insee_arm"
    from_data: bool = False
    h3_resolution: int = 9
    sources: list[str] = list(FORECAST_FACTS)
    planned_sources: list[str] = list(FORECAST_PLANNED)
    shift_hours: list[int] = [6, 14, 22]
    timezone: str = PARIS_NAME
    holidays_country: str = "FR"
    school_holidays_subdivision: str | None = "Zone B"
    route_buffer_m: float = 100.0
    kinds_by_subcategory: list[str] = ["evenements_publics"]

    @classmethod
    def from_settings(cls, s=None, home_paths=None) -> "StudyArea":
        """The study area the settings choose (`TRANQUILLITE_AREA` and the others, see settings.py):
        Marseille's defaults, or another city's with its own time zone, holidays and sources."""
        from tranquillite.settings import paths, settings

        s = s or settings()
        kw: dict = {"h3_resolution": s.h3_resolution, "shift_hours": list(s.shift_hours)}
        if s.area == "marseille":
            kw |= {
                "name": s.area_name or "Marseille",
                "timezone": s.timezone or PARIS_NAME,
                "holidays_country": "FR" if s.holidays_country is None else s.holidays_country,
                "school_holidays_subdivision": "Zone B" if s.school_holidays is None else (s.school_holidays or None),
            }
            if s.area_zone_property:
                kw["zone_property"] = s.area_zone_property
        else:
            kw |= {
                "timezone": s.timezone,
                "holidays_country": s.holidays_country or "",
                "school_holidays_subdivision": s.school_holidays or None,
                "sources": ["incidents"],
                "planned_sources": [],
                "zone_property": s.area_zone_property or "",
            }  # "": `insee_arm` if present, else the first
            if s.area == "donnees":
                kw |= {
                    "name": s.area_name or "zone d'étude",
                    "from_data": True,
                    "zone_property": "code",
                    "boundary_path": str((home_paths or paths()).warehouse / "features" / DATA_AREA_FILE),
                }
            else:
                kw |= {"name": s.area_name or Path(s.area).stem, "boundary_path": s.area}
        if s.sources is not None:
            kw["sources"] = list(s.sources)
        if s.planned_sources is not None:
            kw["planned_sources"] = list(s.planned_sources)
        return cls(**kw)

    def spec(self) -> AreaSpec:
        return AreaSpec(
            name=self.name,
            boundary_path=self.boundary_path,
            zone_property=self.zone_property,
            from_data=self.from_data,
            h3_resolution=self.h3_resolution,
            sources=tuple(self.sources),
            planned_sources=tuple(_in_force(self.planned_sources)),
            shift_hours=tuple(self.shift_hours),
            timezone=self.timezone,
            holidays_country=self.holidays_country,
            school_holidays_subdivision=self.school_holidays_subdivision,
            route_buffer_m=self.route_buffer_m,
            kinds_by_subcategory=tuple(self.kinds_by_subcategory),
        )


def _in_force(sources: list[str]) -> list[str]:
    """Planned sources without those of ended conventions (their data are no longer used, #12)."""
    from tranquillite.conventions.usage import in_force_sources

    return in_force_sources(sources)
