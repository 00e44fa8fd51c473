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
        out[name] = [(tuple(int(v) for v in c.split(",")), text.strip())
                     for c, text in re.findall(r"data-legende='([0-9,]+)'.*?</span>([^<]*)</span>", block)]
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
    assert counts == {carte.SOURCE_LABELS[s]: sum(p["source"] == s for p in points) for s in {p["source"] for p in points}}
    routes = drawn.get("parcours") or []
    assert {text.split(" : ")[0]: c for c, text in sections[LAYER_NAMES["parcours"]]} == \
        {carte.SOURCE_LABELS[r["source"]]: tuple(r["couleur"]) for r in routes}
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
