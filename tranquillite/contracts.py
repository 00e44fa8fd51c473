"""Load the YAML data contracts of `data_contracts/`: the single source of truth for every source."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tranquillite.settings import contracts_dir

FIELD_TYPES = {
    "id",
    "string",
    "text",
    "integer",
    "number",
    "datetime",
    "enum",
    "address",
    "address_list",
    "geometry",
    "longitude",
    "latitude",
}


class ContractError(ValueError):
    """A contract file is malformed."""


@dataclass(frozen=True)
class Bounds:
    """Plausible values of a contract's records (YAML `bounds:`); outside them a record is quarantined.

    `days_before_export` / `days_after_export`: every datetime field lies within the export day
    (the file's partition) minus / plus these many days (`date_hors_bornes:<field>`);
    `text_max_length`: no field holds more characters (`champ_trop_long:<field>`). Numbers have
    field-level `min` / `max` (`valeur_hors_bornes:<field>`).
    """

    days_before_export: int | None = None
    days_after_export: int | None = None
    text_max_length: int | None = None


def _bounds(d: dict[str, Any] | None, where: str) -> Bounds:
    d = d or {}
    unknown = set(d) - {"dates", "text_max_length"}
    dates = d.get("dates") or {}
    unknown |= {f"dates.{k}" for k in set(dates) - {"days_before_export", "days_after_export"}}
    if unknown:
        raise ContractError(f"{where}: unknown bounds keys {sorted(unknown)}")
    values = {k: dates.get(k) for k in ("days_before_export", "days_after_export")}
    values["text_max_length"] = d.get("text_max_length")
    for k, v in values.items():
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise ContractError(f"{where}: bounds {k} must be a non-negative integer, got {v!r}")
    return Bounds(**values)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool = False
    column: str | None = None
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    after: str | None = None
    free_text: bool = False
    free_text_scope: str | None = None  # what the personal-data guard looks for: "texte" or "libelle"
    geometry_type: str | None = None
    derived_from: tuple[str, ...] = ()
    default_radius_m: float | None = None

    @property
    def header(self) -> str:
        """The column name in landing files (CSV French header, or JSON key)."""
        return self.column or self.name


@dataclass(frozen=True)
class Contract:
    name: str
    title: str
    source: str
    format: str
    convention: str
    id_field: str
    fields: tuple[Field, ...]
    envelope: tuple[Field, ...] = ()
    record_type: str | None = None
    event: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    bounds: Bounds = Bounds()

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return self.envelope + self.fields

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no field {name!r}")

    @property
    def headers(self) -> list[str]:
        return [f.header for f in self.all_fields]


FREE_TEXT_SCOPES = {True: "texte", "texte": "texte", "libelle": "libelle"}


def _field(d: dict[str, Any], where: str) -> Field:
    missing = {"name", "label", "type"} - d.keys()
    if missing:
        raise ContractError(f"{where}: field {d.get('name')!r} lacks {sorted(missing)}")
    if d["type"] not in FIELD_TYPES:
        raise ContractError(f"{where}: field {d['name']!r} has unknown type {d['type']!r}")
    if d["type"] == "enum" and not d.get("values"):
        raise ContractError(f"{where}: enum field {d['name']!r} has no values")
    free = d.get("free_text", False)
    if free not in (False, None) and free not in FREE_TEXT_SCOPES:
        raise ContractError(f"{where}: field {d['name']!r} has free_text {free!r} (true, texte or libelle)")
    lo, hi = d.get("min"), d.get("max")
    for k, v in (("min", lo), ("max", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v):
            raise ContractError(f"{where}: field {d['name']!r} has a non-numeric {k} {v!r}")
    if lo is not None and hi is not None and lo > hi:
        raise ContractError(f"{where}: field {d['name']!r} has min {lo} > max {hi}")
    return Field(
        name=d["name"],
        label=d["label"],
        type=d["type"],
        required=bool(d.get("required", False)),
        column=d.get("column"),
        values=tuple(d.get("values") or ()),
        min=lo,
        max=hi,
        pattern=d.get("pattern"),
        after=d.get("after"),
        free_text=bool(free),
        free_text_scope=FREE_TEXT_SCOPES.get(free) if free else None,
        geometry_type=d.get("geometry_type"),
        derived_from=tuple(d.get("derived_from") or ()),
        default_radius_m=d.get("default_radius_m"),
    )


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, ~8 times
# faster — reading the contracts is on the import path of every constant (issue 14, import budget)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, through libyaml when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 — a safe loader


def load_contract(path: Path) -> Contract:
    d = safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    for key in ("name", "title", "source", "format", "convention", "id_field", "fields"):
        if key not in d:
            raise ContractError(f"{where}: missing key {key!r}")
    known = {
        "name",
        "title",
        "source",
        "format",
        "convention",
        "id_field",
        "fields",
        "envelope",
        "record_type",
        "event",
        "bounds",
    }
    fmt = d.get("date_format")
    if fmt is not None and not (
        isinstance(fmt, str) or (isinstance(fmt, list) and fmt and all(isinstance(x, str) for x in fmt))
    ):
        raise ContractError(f"{where}: date_format must be a strftime format or a list of them, got {fmt!r}")
    return Contract(
        name=d["name"],
        title=d["title"],
        source=d["source"],
        format=d["format"],
        convention=d["convention"],
        id_field=d["id_field"],
        fields=tuple(_field(f, where) for f in d["fields"]),
        envelope=tuple(_field(f, where) for f in d.get("envelope") or ()),
        record_type=d.get("record_type"),
        event=d.get("event") or {},
        meta={k: v for k, v in d.items() if k not in known},
        bounds=_bounds(d.get("bounds"), where),
    )


def load_contracts(directory: str | None = None) -> dict[str, Contract]:
    """Every contract of the directory (default: the settings' folder), by name (conventions.yaml,
    indicators and audit_boucle are not contracts); read once per folder (as named: no filesystem call
    on the lookup, which every contract question asks)."""
    return _load_contracts(str(directory or contracts_dir()))


@lru_cache(maxsize=4)
def _load_contracts(directory: str) -> dict[str, Contract]:
    root = Path(directory)
    out: dict[str, Contract] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.stem in {"conventions", "indicators", "audit_boucle"}:
            continue
        c = load_contract(path)
        out[c.name] = c
    return out


def load_conventions(directory: str | None = None) -> dict[str, dict[str, Any]]:
    """The conventions of `conventions.yaml` in the directory (default: the settings' folder)."""
    return _load_conventions(str(directory or contracts_dir()))


@lru_cache(maxsize=4)
def _load_conventions(directory: str) -> dict[str, dict[str, Any]]:
    return safe_load((Path(directory) / "conventions.yaml").read_text(encoding="utf-8"))["conventions"]


def contracts_for_source(source: str) -> list[Contract]:
    return [c for c in load_contracts().values() if c.source == source]


def sources() -> list[str]:
    return sorted({c.source for c in load_contracts().values()})
