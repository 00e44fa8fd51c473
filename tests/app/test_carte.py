"""The Carte page: its legends say what is drawn, in the drawn colours."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from tests.app.helpers import login_as
from tranquillite.app_core import carte
from tranquillite.app_core.deck import LAYER_NAMES

PAGE = "views/carte.py"
PERIOD = (date(2025, 3, 7), date(2025, 3, 8))


def open_map(profile: str = "analyste", vue: str = "auto"):
    at = login_as(profile)
    at.switch_page(PAGE).run()
    at.date_input(key="periode").set_value(PERIOD)
    at.selectbox(key="vue").set_value(vue).run()
    assert not at.exception, at.exception
    return at


def layers(at) -> dict[str, list[dict]]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer["id"]: layer.get("data") for layer in spec["layers"]}


def legend(at) -> str:
    return next(m.value for m in at.markdown if "tq-legende" in m.value)


def legend_sections(at) -> dict[str, list[tuple[tuple[int, ...], str]]]:
    """Layer name → [(swatch RGBA, its text)] of the rendered legend."""
    out = {}
    for block in re.findall(r"<div class='tq-legende'>(.*?)</div>", legend(at)):
        name = re.match(r"<b>(.*?)</b>", block).group(1)
        out[name] = [
            (tuple(int(v) for v in c.split(",")), text.strip())
            for c, text in re.findall(r"data-legende='([0-9,]+)'.*?</span>([^<]*)</span>", block)
        ]
    return out


def test_points_legend_lists_the_drawn_sources_in_their_drawn_colours(app_home):
    at = open_map(vue="points")
    drawn = layers(at)
    sections = legend_sections(at)
    points = drawn["faits_points"]
    assert points, "the test data should be drawn as points"
    want = {carte.SOURCE_LABELS[p["source"]]: tuple(p["couleur"]) for p in points}
    got = {text.split(" : ")[0]: colour for colour, text in sections[LAYER_NAMES["faits_points"]]}
    assert got == want  # every source drawn, nothing else, and the colour it is drawn with
    counts = {text.split(" : ")[0]: int(text.split(" : ")[1]) for _, text in sections[LAYER_NAMES["faits_points"]]}
    assert counts == {
        carte.SOURCE_LABELS[s]: sum(p["source"] == s for p in points) for s in {p["source"] for p in points}
    }
    routes = drawn.get("parcours") or []
    assert {text.split(" : ")[0]: c for c, text in sections[LAYER_NAMES["parcours"]]} == {
        carte.SOURCE_LABELS[r["source"]]: tuple(r["couleur"]) for r in routes
    }
    assert "faits_h3" not in drawn and LAYER_NAMES["faits_h3"] not in sections
    assert LAYER_NAMES["arrondissements"] in sections


def test_hexagon_legend_is_the_scale_that_coloured_them(app_home):
    at = open_map(vue="hexagones")
    drawn = layers(at)
    hexes = drawn["faits_h3"]
    assert hexes and "faits_points" not in drawn
    top = max(h["n"] for h in hexes)
    scale = carte.hexagon_scale(top)
    for h in hexes:  # each hexagon drawn with the scale's colour of its count
        assert h["couleur"] == scale.rgba([h["n"]])[0].tolist()
    sections = legend_sections(at)
    steps = sections[LAYER_NAMES["faits_h3"]]
    assert [text for _, text in steps][-1] == str(top) and [text for _, text in steps][0] == "1"
    densest = next(h for h in hexes if h["n"] == top)
    assert steps[-1][0] == tuple(densest["couleur"])  # the legend's darkest step is the densest hexagon
    assert steps[0][0] == tuple(scale.rgba([1])[0])
    # facts are not drawn in their sources' colours any more: the legend does not pretend they are
    assert LAYER_NAMES["faits_points"] not in sections


@pytest.mark.parametrize("vue", ["points", "hexagones"])
def test_every_drawn_layer_is_named_in_the_legend(app_home, vue):
    at = open_map(vue=vue)
    sections = legend_sections(at)
    for layer_id, data in layers(at).items():
        if layer_id == "arrondissements" or data:
            assert LAYER_NAMES[layer_id] in sections, layer_id


# ----------------------------------------------------------------------------- when: by day, weekday × hour
def chart_rows(at, key_index: int) -> list[dict]:
    import pyarrow as pa

    proto = at.get("vega_lite_chart")[key_index].proto
    return pa.ipc.open_stream(proto.datasets[0].data.data).read_all().to_pylist()


def direct(sql: str, params: list) -> list[tuple]:
    from tranquillite.app_core import queries

    cat = queries.Catalog.open()
    try:
        return cat.cursor().execute(sql, params).fetchall()
    finally:
        cat.close()


FACTS = list(carte.FACT_SOURCES)


def test_when_charts_follow_the_filters(app_home):
    at = open_map("analyste")
    by_day, by_hour = chart_rows(at, 0), chart_rows(at, 1)
    want = dict(
        ((d.isoformat(), s), n)
        for d, s, n in direct(
            "SELECT CAST(start AS DATE), source, count(*) FROM clean.events WHERE list_contains(?, source) "
            "AND start >= '2025-03-07' AND start < '2025-03-09' GROUP BY ALL",
            [FACTS],
        )
    )
    got = {(str(r["jour"])[:10], r["source"]): r["n"] for r in by_day if r["n"]}
    assert got == want and sum(want.values()) > 0
    hours = {(r["Jour"], r["heure"]): r["n"] for r in by_hour if r["n"]}
    want_h = {
        (carte.WEEKDAYS[d - 1], h): n
        for d, h, n in direct(
            "SELECT isodow(start), hour(start), count(*) FROM clean.events WHERE list_contains(?, source) "
            "AND start >= '2025-03-07' AND start < '2025-03-09' GROUP BY ALL",
            [FACTS],
        )
    }
    assert hours == want_h
    assert len(by_hour) == 7 * 24  # every hour of the week, zeros included
    # a filter narrows the charts too: interventions only, from 22 h to 05 h
    at.multiselect(key="sources").set_value(["interventions"])
    at.selectbox(key="de").set_value(22)
    at.selectbox(key="a").set_value(5).run()
    assert not at.exception
    night = {(r["Jour"], r["heure"]): r["n"] for r in chart_rows(at, 1) if r["n"]}
    assert night and all(h >= 22 or h <= 5 for _, h in night)
    assert {r["source"] for r in chart_rows(at, 0)} == {"interventions"}
    assert (
        sum(night.values())
        == direct(
            "SELECT count(*) FROM clean.events WHERE source = 'interventions' AND start >= '2025-03-07' "
            "AND start < '2025-03-09' AND (hour(start) >= 22 OR hour(start) <= 5)",
            [],
        )[0][0]
    )
    # the previous period of the same length holds no fact: no percentage out of nothing
    text = next(m.value for m in at.markdown if "contre" in m.value)
    assert "du 05/03/2025 au 06/03/2025" in text and "trop peu de faits" in text and "%" not in text


def test_when_charts_respect_the_scope(app_home):
    at = open_map("lecteur_prefecture")  # no City facts in its conventions
    assert not at.get("vega_lite_chart")
    assert any("Aucun fait sélectionné" in i.value for i in at.info)


@pytest.mark.parametrize(
    "current, previous, words",
    [
        (5, 3, ["5 faits contre 3", "trop peu de faits"]),
        (30, 9, ["30 faits contre 9", "trop peu de faits"]),
        (30, 20, ["**+50\u202f%**", "compatible avec le hasard"]),
        (100, 50, ["**+100\u202f%**", "au-delà du hasard", "p < 0,001"]),
        (1200, 1500, ["**\u221220\u202f%**", "1\u202f200 faits contre 1\u202f500", "au-delà du hasard"]),
    ],
)
def test_period_comparison_handles_small_counts_honestly(current, previous, words):
    text = carte.comparison_text(current, previous, (date(2025, 3, 1), date(2025, 3, 6)))
    for w in words:
        assert w in text, (w, text)
    if "trop peu" in text:
        assert "%" not in text
