"""What a source is lives in its data contract (`tranquillite.sources`, issue 16): every consumer —
the map, the indicators, the alerts and tension explanations — reads it from there, a new contract
reaches them with no other edit, and a declaration that is incomplete or contradicts a sibling
contract is refused with the file's name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tranquillite import sources as S
from tranquillite.contracts import ContractError, load_contracts

REPO = Path(__file__).resolve().parents[1]

FOURRIERE = """\
name: fourriere
title: Enlèvements par la fourrière municipale
source: fourriere
format: csv
provider: Ville de Marseille — fourrière municipale
owner: DGSEC
convention: internal
id_field: id
bounds: {dates: {days_before_export: 366, days_after_export: 2}, text_max_length: 10000}
event: {category: fourriere, subcategory: motif, start: date_heure, geometry: point,
       kind: fait, label: "Enlèvements de véhicules", item: "Enlèvement de véhicule",
       colour: [100, 100, 100, 200], forecast: true, order: 35}
fields:
  - {name: id, column: N° enlèvement, label: Numéro d'enlèvement, type: id, required: true}
  - {name: motif, column: Motif, label: Motif, type: enum, required: true, values: [Stationnement gênant, Épave]}
  - {name: date_heure, column: Date et heure, label: Date et heure, type: datetime, required: true}
  - {name: longitude, column: Longitude, label: Longitude (WGS84), type: longitude, min: -180, max: 180, required: true}
  - {name: latitude, column: Latitude, label: Latitude (WGS84), type: latitude, min: -90, max: 90, required: true}
"""


def test_every_contract_with_events_declares_what_its_source_is():
    registry = S.event_sources()
    categories = {c.event["category"] for c in load_contracts().values() if c.event}
    assert set(registry) == categories
    assert set(S.fact_sources()) | set(S.planned_sources()) == categories
    assert not set(S.fact_sources()) & set(S.planned_sources())
    for s in registry.values():
        assert s.label and s.item and len(s.colour) == 4, s.code
    assert set(S.demonstrations()) <= set(S.planned_sources())


def test_every_consumer_knows_every_source():
    """Fails when a contract's source is missing from any consumer."""
    from tranquillite.app_core import carte
    from tranquillite.forecasting.study_area import FORECAST_FACTS, FORECAST_PLANNED
    from tranquillite.indicators import alerts, planned
    from tranquillite.indicators.config import load_catalogue

    cat = load_catalogue()
    for s in S.event_sources().values():
        assert s.code in carte.SOURCE_LABELS and s.code in carte.SOURCE_COLORS, s.code
        if s.is_fact:
            assert s.code in carte.FACT_SOURCES and s.code in cat.fact_sources, s.code
            assert s.code in alerts.GROUP_LABELS, s.code
            assert (s.code in FORECAST_FACTS) == s.forecast, s.code
        else:
            assert s.code in carte.PLANNED_SOURCES and s.code in cat.planned_sources, s.code
            assert s.code in planned.RECORD_NAMES, s.code
            assert (s.code in FORECAST_PLANNED) == s.forecast, s.code


def _contracts_with(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "contrats"
    shutil.copytree(REPO / "data_contracts", root)
    (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def test_a_new_contract_reaches_the_map_the_indicators_the_alerts_and_the_forecasts_with_no_other_edit(tmp_path):
    root = _contracts_with(tmp_path, "fourriere", FOURRIERE)
    code = (
        "import json\n"
        "from tranquillite.app_core import carte\n"
        "from tranquillite.indicators import alerts\n"
        "from tranquillite.indicators.config import load_catalogue\n"
        "from tranquillite.forecasting.study_area import StudyArea\n"
        "c = load_catalogue()\n"
        "print(json.dumps({'carte': list(carte.FACT_SOURCES), 'label': carte.SOURCE_LABELS['fourriere'],"
        " 'colour': carte.SOURCE_COLORS['fourriere'], 'indicateurs': list(c.fact_sources),"
        " 'alertes': alerts.GROUP_LABELS['fourriere'], 'prevision': list(StudyArea().spec().sources)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TRANQUILLITE_CONTRACTS": str(root), "TRANQUILLITE_HOME": str(tmp_path / "home")},
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "fourriere" in got["carte"] and "fourriere" in got["indicateurs"]
    assert got["carte"].index("fourriere") == got["carte"].index("signalements") + 1  # its declared order
    assert got["label"] == "Enlèvements de véhicules" and got["colour"] == [100, 100, 100, 200]
    assert got["alertes"] == "enlèvements de véhicules"
    assert "fourriere" in got["prevision"]  # forecast: true → a forecast target


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda e: e.pop("kind"), "lacks \\['kind'\\]"),
        (lambda e: e.update(kind="observe"), "fait or prevu"),
        (lambda e: e.update(colour=[0, 0, 300, 1]), "RGBA"),
        (lambda e: e.update(demonstration=True), "only a planned source"),
    ],
)
def test_an_incomplete_declaration_is_refused_with_its_file(tmp_path, change, message):
    d = yaml.safe_load(FOURRIERE)
    change(d["event"])
    root = _contracts_with(tmp_path, "fourriere", yaml.safe_dump(d, allow_unicode=True))
    with pytest.raises(ContractError, match=f"fourriere.yaml: event.*{message}"):
        S.event_sources(str(root))


def test_contracts_sharing_a_category_must_agree(tmp_path):
    d = yaml.safe_load((REPO / "data_contracts" / "manifestation_statique.yaml").read_text(encoding="utf-8"))
    d["name"], d["record_type"] = "manifestation_statique_bis", "manifestation_statique_bis"
    d["event"]["label"] = "Rassemblements"
    root = _contracts_with(tmp_path, "manifestation_statique_bis", yaml.safe_dump(d, allow_unicode=True))
    with pytest.raises(ContractError, match="share the event category 'manifestation_statique'"):
        S.event_sources(str(root))


def test_the_synthetic_generator_feeds_a_new_contract_from_its_declaration(tmp_path):
    """A contract with a volume and no simulation of its own (fourriere, the RTM's works) gets landing
    files in its own format from `tranquillite generate`, every record accepted by its contract."""
    from tests.partner import SOURCE, contracts_with

    text = FOURRIERE.replace("bounds:", "volume: {per_year: 3650}\nbounds:")
    root = contracts_with(tmp_path / "contrats2", extra={"fourriere": text})
    rtm = (root / f"{SOURCE}.yaml").read_text(encoding="utf-8")
    (root / f"{SOURCE}.yaml").write_text(rtm.replace("bounds:", "volume: {per_year: 365}\nbounds:"), encoding="utf-8")
    code = (
        "import json, sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from tranquillite import landing, validation\n"
        "from tranquillite.contracts import contracts_for_source\n"
        "from tranquillite.synthetic import generate\n"
        "home = Path(sys.argv[1])\n"
        "rep = generate(home, start=date(2025, 3, 1), days=14, scale=1.0)\n"
        "out = {'rows': rep.rows_per_source}\n"
        "for s in ('fourriere', sys.argv[2]):\n"
        "    files = sorted((home / 'landing' / s).glob('*.csv'))\n"
        "    parts = sorted({f.stem.rsplit('_', 1)[1] for f in files})\n"
        "    import polars as pl\n"
        "    raw = pl.concat([landing.read_partition(home / 'landing', s, p)[0] for p in parts])\n"
        "    o = validation.validate(raw, contracts_for_source(s))\n"
        "    q = o.quarantine.height if o.quarantine is not None else 0\n"
        "    out[s] = {'files': len(files), 'read': o.read, 'clean': sum(d.height for d in o.clean.values()),"
        " 'quarantine': q}\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "home"), SOURCE],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TRANQUILLITE_CONTRACTS": str(root), "TRANQUILLITE_HOME": str(tmp_path / "home")},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert 100 < got["rows"]["fourriere"] < 180  # 10 a day over 14 days (Poisson)
    assert got["fourriere"]["files"] == 14
    for s in ("fourriere", SOURCE):
        assert got[s]["read"] == got["rows"][s] > 0 and got[s]["clean"] == got[s]["read"], (s, got[s])
        assert got[s]["quarantine"] == 0, (s, got[s])
