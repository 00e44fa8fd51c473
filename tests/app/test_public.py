"""The public page: the pipeline's public values (already masked), as a choropleth and a table."""

from __future__ import annotations

import json

import pytest

from tests.app.helpers import new_app
from tranquillite.app_core import carte, queries
from tranquillite.app_core.deck import MASKED_COLOUR


def published(sql: str, params=()) -> list[tuple]:
    cat = queries.Catalog.open()
    try:
        return cat.cursor().execute(sql, list(params)).fetchall()
    finally:
        cat.close()


def open_public():
    at = new_app().run()
    assert not at.exception, at.exception
    return at


def table(at) -> dict[str, dict]:
    df = at.dataframe[0].value
    return {r["Arrondissement"]: r for r in df.to_dict("records")}


def choropleth(at) -> dict[str, dict]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer = next(layer for layer in spec["layers"] if layer["id"] == "choroplethe")
    return {f["properties"]["code"]: f["properties"] for f in layer["data"]["features"]}


def test_public_page_shows_the_published_values_masks_included(app_home):
    at = open_public()
    assert at.selectbox(key="indicateur").value == "faits_par_categorie"
    assert at.selectbox(key="categorie_publique").value == "toutes"
    t = table(at)
    names = carte.arrondissement_names()
    rows = dict(
        ((a, p), (v, d))
        for a, p, v, d in published(
            "SELECT area, period, value, value_display FROM indicators.values_public WHERE indicator_id = "
            "'faits_par_categorie' AND dimension = 'toutes' AND area_level = 'arrondissement'"
        )
    )
    assert rows, "the test catalog publishes arrondissement values"
    month_col = "mars 2025"
    for (code, period), (value, shown) in rows.items():
        assert period == "2025-03"
        assert t[names[code]][month_col] == (shown if value is None else str(int(value)))
    assert t[names["13201"]][month_col] == "secret" and t[names["13206"]][month_col] == "<11"
    # no row: no fact — and the city's value of the month is published (24), so 0 discloses nothing
    city = published(
        "SELECT value FROM indicators.values_public WHERE indicator_id = 'faits_par_categorie' "
        "AND dimension = 'toutes' AND area_level = 'ville'"
    )[0][0]
    assert t["Marseille (ville)"][month_col] == str(int(city))
    assert t[names["13203"]][month_col] == "0"
    assert len(t) == len(names) + 1


def test_zero_is_not_shown_where_the_city_value_is_masked(app_home):
    at = open_public()
    at.selectbox(key="indicateur").set_value("signalements_par_categorie").run()
    t = table(at)
    names = carte.arrondissement_names()
    assert t["Marseille (ville)"]["mars 2025"] == "<11"
    assert t[names["13206"]]["mars 2025"] == "<11"
    # 15 arrondissements without reports: a 0 would tell where the few masked reports are
    assert {t[n]["mars 2025"] for c, n in names.items() if c != "13206"} == {"secret"}


def test_the_choropleth_colours_only_published_values(app_home):
    at = open_public()
    feats = choropleth(at)
    assert len(feats) == len(carte.arrondissement_names())
    assert feats["13201"]["couleur"] == MASKED_COLOUR and feats["13206"]["couleur"] == MASKED_COLOUR
    assert feats["13201"]["info"].startswith("secret") and feats["13206"]["info"].startswith("<11")
    zero = feats["13203"]
    assert zero["couleur"] != MASKED_COLOUR and zero["info"].startswith("0")
    legend = next(m.value for m in at.markdown if "tq-legende" in m.value)
    assert "Faits par catégorie" in legend and "valeur masquée" in legend
    assert f"data-legende='{','.join(str(v) for v in MASKED_COLOUR)}'" in legend


@pytest.mark.parametrize("value, expected", [(12.0, "12"), (0.35, "0,35"), (1234.5, "1\u202f234,5")])
def test_public_values_in_french(value, expected):
    from tranquillite.app_core.public import display

    assert display(value, str(value)) == expected
