"""Plausible ranges are written in the YAML contracts, checked when the contracts are loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tranquillite.contracts import ContractError, load_contract, load_contracts


def _write(tmp_path: Path, **extra) -> Path:
    d = {
        "name": "x",
        "title": "X",
        "source": "x",
        "format": "csv",
        "convention": "internal",
        "id_field": "id",
        "fields": [
            {"name": "id", "label": "Id", "type": "id"},
            {"name": "n", "label": "N", "type": "integer", **extra.pop("field", {})},
        ],
        **extra,
    }
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return path


def test_every_contract_bounds_its_dates_texts_and_coordinates():
    for c in load_contracts().values():
        b = c.bounds
        assert b.days_before_export is not None and b.days_after_export is not None, c.name
        assert b.text_max_length is not None, c.name
        for f in c.all_fields:
            if f.type in {"longitude", "latitude"}:
                limit = 180 if f.type == "longitude" else 90
                assert (f.min, f.max) == (-limit, limit), (c.name, f.name)
            if f.name.startswith(("nombre_", "frequentation")):
                assert f.min == 0, (c.name, f.name)  # counts are never negative


def test_bounds_are_parsed(tmp_path):
    c = load_contract(
        _write(
            tmp_path,
            bounds={"dates": {"days_before_export": 3, "days_after_export": 1}, "text_max_length": 50},
            field={"min": 0, "max": 10},
        )
    )
    assert (c.bounds.days_before_export, c.bounds.days_after_export, c.bounds.text_max_length) == (3, 1, 50)
    assert (c.field("n").min, c.field("n").max) == (0, 10)
    assert "bounds" not in c.meta


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"bounds": {"dates": {"days_before": 3}}}, "unknown bounds keys"),
        ({"bounds": {"text_max_length": -1}}, "non-negative integer"),
        ({"bounds": {"dates": {"days_after_export": "2"}}}, "non-negative integer"),
        ({"field": {"min": 5, "max": 1}}, "min 5 > max 1"),
        ({"field": {"max": "beaucoup"}}, "non-numeric max"),
    ],
)
def test_malformed_bounds_are_refused(tmp_path, extra, message):
    with pytest.raises(ContractError, match=message):
        load_contract(_write(tmp_path, **extra))
