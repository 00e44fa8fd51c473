"""A partner that does not exist in the shipped registry: the Régie des transports métropolitains
(RTM) and its public-transport works, one contract of planned events under a convention of its own —
written exactly as the data team would add them (a YAML convention, a YAML contract), into a copy of
`data_contracts/` that a subprocess reads through `TRANQUILLITE_CONTRACTS`."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONVENTION = "rtm_travaux"
ORGANISATION = "rtm"
SOURCE = "travaux_transport"

PARTNER_CONVENTION = {
    "title": "Convention d'échange des chantiers de la RTM",
    "parties": ["Ville de Marseille", "Régie des transports métropolitains (RTM)"],
    "legal_basis": "Convention d'échange de données, article 4",
    "start_date": None,  # notified in the app by the gestionnaire (page « Conventions »)
    "initial_term_months": 12,
    "renewal": "tacit_yearly",
    "max_total_years": 3,
    "notice_months": 1,
    "destruction_days_after_termination": 15,
    "data": [SOURCE],
    "personal_data": "none",
    "use_outside_platform": False,
    "temporary_handover": False,
    "access": [],  # nobody until the City grants it
    "organisations": [ORGANISATION],
    "party_label": "Régie des transports métropolitains",
    "outside_platform": [{"what": "Sauvegardes de la plateforme", "who": "Exploitant de la plateforme (DGANSI)"}],
}

TRAVAUX = f"""\
name: {SOURCE}
title: Chantiers de la RTM sur la voirie
source: {SOURCE}
format: csv
provider: Régie des transports métropolitains
owner: RTM
convention: {CONVENTION}
id_field: id
bounds: {{dates: {{days_before_export: 366, days_after_export: 366}}, text_max_length: 10000}}
event: {{category: {SOURCE}, subcategory: nature, start: debut, end: fin, geometry: point,
       kind: prevu, label: "Chantiers de transport", item: "Chantier de transport",
       colour: [30, 160, 160, 220], forecast: true, order: 95}}
fields:
  - {{name: id, column: Référence, label: Référence du chantier, type: id, required: true}}
  - {{name: nature, column: Nature, label: Nature du chantier, type: enum, required: true, values: [Voie de tramway, Station de métro, Arrêt de bus]}}
  - {{name: debut, column: Début, label: Date et heure de début, type: datetime, required: true}}
  - {{name: fin, column: Fin, label: Date et heure de fin, type: datetime, required: true, after: debut}}
  - {{name: longitude, column: Longitude, label: Longitude (WGS84), type: longitude, min: -180, max: 180, required: true}}
  - {{name: latitude, column: Latitude, label: Latitude (WGS84), type: latitude, min: -90, max: 90, required: true}}
"""


def contracts_with(root: Path, *, partner: bool = True, extra: dict[str, str] | None = None) -> Path:
    """A copy of the shipped contracts, with the partner's convention and contract (and any `extra`
    contract {name: yaml text}) added."""
    shutil.copytree(REPO / "data_contracts", root)
    if partner:
        reg = yaml.safe_load((root / "conventions.yaml").read_text(encoding="utf-8"))
        reg["conventions"][CONVENTION] = PARTNER_CONVENTION
        (root / "conventions.yaml").write_text(
            yaml.safe_dump(reg, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        (root / f"{SOURCE}.yaml").write_text(TRAVAUX, encoding="utf-8")
    for name, text in (extra or {}).items():
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root
