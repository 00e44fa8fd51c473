"""The Zones de tension page and the gateway's filter on a LIST of conventions (`indicators.*`).

Exact assertions run on a hand-built `indicators.*` catalog (`indicators_home`) whose rows derive
from the City's data, the Préfecture's, both, or nothing known; the pipeline's catalog
(`app_home`, built by the real forecasting and indicators jobs) checks that the page shows what
a direct DuckDB query of the published tables gives.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import h3
import polars as pl
import pytest

from tests.app.helpers import catalog_home, count_queries, login_as, run_page_as
from tranquillite.app_core import habilitations, queries, store
from tranquillite.app_core import tension as T
from tranquillite.app_core.rights import load_principal, public_principal

PAGE = "views/tension.py"
INTERNAL, PREF = "internal", "prefecture_police_13"
CELLS = sorted(h3.grid_disk(h3.latlng_to_cell(43.2965, 5.3700, 9), 2))[:8]
# conventions of each cell's rows: what each profile may see depends on them only
CONVENTIONS = [[INTERNAL], [INTERNAL], [INTERNAL, PREF], [PREF, INTERNAL], [PREF], [], [INTERNAL, None], [PREF]]
VISIBLE = {  # cell positions whose rows the scope gets
    "both": {0, 1, 2, 3, 4, 7},
    "internal_only": {0, 1},
    "prefecture_only": {4, 7},
    "none": set(),
}
SLOTS = [60468, 60469, 60470]
QUARTIERS = ["1320606", "1320101"]  # Vauban (6e), Belsunce (1er): the grid's quartier codes
START = datetime(2025, 3, 9, 6)
AS_OF = START


def index_value(i: int, sj: int) -> float:
    """Distinct indices per shift (cell 5 has the highest on shift 0: it must still never show)."""
    return float(((i * 3 + sj * 5) % 8) * 10 + 5)


def tension_frame() -> pl.DataFrame:
    from tranquillite.indicators.tension import TENSION_SCHEMA, rank_within_slot

    rows = []
    for sj, s in enumerate(SLOTS):
        for i, cell in enumerate(CELLS):
            idx = index_value(i, sj)
            contrib = {
                "significativite": idx * 0.4,
                "tendance": idx * 0.1,
                "prevision": idx * 0.3,
                "evenements": idx * 0.2,
                "concurrence": 0.0,
            }
            rows.append(
                {
                    "h3_cell": cell,
                    "arrondissement": "13201" if i % 2 else "13206",
                    "quartier": QUARTIERS[i % 2],
                    "slot": s,
                    "slot_start": START + timedelta(hours=8 * sj),
                    "slot_end": START + timedelta(hours=8 * (sj + 1)),
                    "day": (START + timedelta(hours=8 * sj)).date(),
                    "shift": ["06h-14h", "14h-22h", "22h-06h"][sj],
                    "index": idx,
                    "level": "elevee" if idx >= 40 else "moderee",
                    **{f"c_{k}": v / 100 for k, v in contrib.items()},
                    **{f"contribution_{k}": v for k, v in contrib.items()},
                    "hotspot_period": "2025-W10",
                    "z": 3.0,
                    "q": 0.01,
                    "emerging_class": "point_chaud_intensification" if i == 0 else None,
                    "forecast_expected": 1.0,
                    "forecast_upper_95": 3.0,
                    "n_events": i % 3,
                    "event_ids": [],
                    "conventions": CONVENTIONS[i],
                    "explanation": f"Indice {idx:.0f}/100 : cellule {i}",
                    "as_of": AS_OF,
                }
            )
    return rank_within_slot(pl.DataFrame(rows, schema=TENSION_SCHEMA)).select(list(TENSION_SCHEMA))


def alerts_frame() -> pl.DataFrame:
    from tranquillite.indicators.alerts import ALERT_SCHEMA

    rows = []
    for i, cell in enumerate(CELLS):
        rows.append(
            {
                "alert_id": f"A{i}",
                "kind": "nouveau_point_chaud",
                "kind_label": "Nouveau point chaud significatif",
                "severity": ["elevee", "moyenne", "faible"][i % 3],
                "area_level": "cellule",
                "area": cell,
                "h3_cell": cell,
                "arrondissement": "13201",
                "category": "violences" if i == 1 else "toutes",
                "starts_at": datetime(2025, 3, 1 + i // 2),
                "ends_at": datetime(2025, 3, 8),
                "reference": None,
                "value": None,
                "threshold": None,
                "explanation": f"alerte {i}",
                "event_ids": [],
                "n_records": 1,
                "conventions": CONVENTIONS[i],
                "as_of": AS_OF,
            }
        )
    return pl.DataFrame(rows, schema=ALERT_SCHEMA)


GI_CLASSES = [
    "point_chaud_99",
    "point_chaud_95",
    "point_chaud_90",
    "non_significatif",
    "point_froid_95",
    "point_chaud_90",
    "point_chaud_99",
    "point_froid_99",
]


def hotspots_frame() -> pl.DataFrame:
    """Weekly Gi* classes of the cells: the latest week (W10) as GI_CLASSES, an older week all hot."""
    from tranquillite.indicators.hotspots import HOTSPOT_SCHEMA

    rows = []
    for week, classes in (("2025-W09", ["point_chaud_99"] * len(CELLS)), ("2025-W10", GI_CLASSES)):
        for i, cell in enumerate(CELLS):
            rows.append(
                {
                    "h3_cell": cell,
                    "arrondissement": "13201",
                    "category": "toutes",
                    "period_level": "semaine",
                    "period": week,
                    "n": 3 + i,
                    "z": 1.5 + i / 2,
                    "class": classes[i],
                    "conventions": CONVENTIONS[i],
                }
            )
    df = pl.DataFrame(rows, infer_schema_length=None)
    return df.with_columns(
        *[pl.lit(None, dtype).alias(c) for c, dtype in HOTSPOT_SCHEMA.items() if c not in df.columns]
    ).select([pl.col(c).cast(t) for c, t in HOTSPOT_SCHEMA.items()] + ["conventions"])


def emerging_frame() -> pl.DataFrame:
    from tranquillite.indicators.emerging import EMERGING_SCHEMA

    rows = [
        {"h3_cell": CELLS[0], "category": "toutes", "class_code": "point_chaud_persistant"},
        {"h3_cell": CELLS[1], "category": "toutes", "class_code": "point_chaud_nouveau"},
        {"h3_cell": CELLS[1], "category": "violences", "class_code": "point_chaud_sporadique"},
        {"h3_cell": CELLS[2], "category": "violences", "class_code": "point_chaud_oscillant"},  # not its category
        {"h3_cell": CELLS[0], "category": "toutes", "class_code": "aucun_motif", "period_level": "mois"},
    ]
    df = pl.DataFrame(
        [{"period_level": "semaine", "arrondissement": "13201", "n_periods": 12, **r} for r in rows],
        infer_schema_length=None,
    )
    return df.with_columns(
        *[pl.lit(None, dtype).alias(c) for c, dtype in EMERGING_SCHEMA.items() if c not in df.columns]
    ).select([pl.col(c).cast(t) for c, t in EMERGING_SCHEMA.items()])


@pytest.fixture
def indicators_home(app_home, monkeypatch):
    """A home whose catalog holds hand-built `indicators.*` tables with known conventions."""
    return catalog_home(
        app_home,
        "home_indicators",
        {
            ("indicators", "tension"): tension_frame(),
            ("indicators", "alerts"): alerts_frame(),
            ("indicators", "emerging_hotspots"): emerging_frame(),
            ("indicators", "hotspots"): hotspots_frame(),
            ("indicators", "values"): pl.DataFrame(
                {"indicator_id": ["faits_par_categorie"], "n": [50], "conventions": [[INTERNAL]]}
            ),
            ("indicators", "values_public"): pl.DataFrame(
                {"indicator_id": ["faits_par_categorie"], "value": [50.0], "value_display": ["50"]}
            ),
        },
        monkeypatch,
    )


@pytest.fixture
def cat(indicators_home):
    c = queries.Catalog.open()
    yield c
    c.close()


def principal(login: str):
    with store.connect() as con:
        return load_principal(con, login)


def visible_cells(cat, scope, table: str = "indicators.tension") -> set[int]:
    df = queries.scoped_query(cat, scope, table, select="DISTINCT h3_cell")
    return {CELLS.index(c) for c in df.get_column("h3_cell").to_list()}


# ----------------------------------------------------------------------------- the conventions filter
def test_a_row_is_visible_only_if_every_convention_it_derives_from_is(cat, con):
    analyst, manager, dpo, reader = (
        load_principal(con, u) for u in ("demo.analyste", "demo.encadrement", "demo.dpo", "demo.prefecture")
    )
    assert set(analyst.scope.conventions) == {INTERNAL, PREF} and reader.scope.conventions == (PREF,)
    for table in ("indicators.tension", "indicators.alerts"):
        for p in (analyst, manager, dpo):
            assert visible_cells(cat, p.scope, table) == VISIBLE["both"], (p.profile, table)
        # the Préfecture reader: its own data only, never a row mixing them with the City's
        assert visible_cells(cat, reader.scope, table) == VISIBLE["prefecture_only"], table
    # an internal-only profile: never a row that also derives from the Préfecture's data
    tech = load_principal(con, "demo.admin")
    habilitations.set_profile_rights(
        con, tech, "encadrement_pm", pages=["accueil_public", "tension", "compte"], actions=[], conventions=[INTERNAL]
    )
    manager = load_principal(con, "demo.encadrement")
    assert visible_cells(cat, manager.scope) == VISIBLE["internal_only"]
    assert visible_cells(cat, manager.scope, "indicators.alerts") == VISIBLE["internal_only"]
    # an empty list or a NULL element (unknown provenance) is never visible (cells 5 and 6)
    everything = queries.scoped_query(cat, analyst.scope, "indicators.tension", select="count(*) AS n").item()
    assert everything == len(VISIBLE["both"]) * len(SLOTS)


def test_derived_rows_need_every_source_of_their_conventions(cat, con):
    """A CSU supervisor sees two of the City's sources: no row derived from the City's data as a whole
    (nor from the Préfecture's: its activity nature excludes them too)."""
    admin = load_principal(con, "demo.habilitations")
    habilitations.update_user(con, admin, "demo.analyste", activity_nature="supervision_videoprotection")
    csu = load_principal(con, "demo.analyste")
    assert set(csu.scope.row_sources) == {"alertes_videoprotection", "interventions"}
    assert visible_cells(cat, csu.scope) == VISIBLE["none"]
    assert queries.complete_conventions(csu.scope.conventions, csu.scope.row_sources) == []
    # the tables without a conventions list keep their rule (internal by default, sources not named)
    em = queries.scoped_query(cat, csu.scope, "indicators.emerging_hotspots", select="h3_cell")
    assert em.height == emerging_frame().height == 5


def test_aggregate_only_profiles_reach_only_the_public_values(cat, con):
    public, partner = public_principal(con), load_principal(con, "demo.partenaire")
    for p in (public, partner):
        for table in ("indicators.tension", "indicators.alerts", "indicators.values", "indicators.emerging_hotspots"):
            for level in ("rows", "aggregate"):
                with pytest.raises(queries.Forbidden):
                    queries.scoped_query(cat, p.scope, table, select="count(*) AS n", level=level)
        # indicators.values_public: public indicators, masked (and secondarily suppressed) by the pipeline
        df = queries.scoped_query(
            cat, p.scope, "indicators.values_public", select="indicator_id, value_display", level="aggregate"
        )
        assert df.to_dicts() == [{"indicator_id": "faits_par_categorie", "value_display": "50"}]
        with pytest.raises(queries.Forbidden):  # and still no row-level read
            queries.scoped_query(cat, p.scope, "indicators.values_public", select="*")


def test_the_predicate_binds_its_lists(app_home):
    scope = principal("demo.analyste").scope
    sql, params = queries.scope_predicate(scope, ["h3_cell", "conventions"], "indicators.tension", "rows")
    assert "list_has_all(?::VARCHAR[], conventions)" in sql and "prefecture" not in sql
    assert params == [[INTERNAL, PREF]]
    # a table naming its source: the source filter applies, the list is tested against the conventions
    sql, params = queries.scope_predicate(scope, ["source", "conventions"], "indicators.x", "rows")
    assert params == [[INTERNAL, PREF], list(scope.row_sources)]


# ----------------------------------------------------------------------------- the page (hand-built catalog)
def open_page(profile: str = "encadrement_pm"):
    at = login_as(profile)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def map_data(at) -> list[dict]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return next(layer for layer in spec["layers"] if layer["id"] == "tension")["data"]


def frame(at, key: str) -> pl.DataFrame:
    """The page's two tables, in page order: the most tense cells, then the alerts."""
    return pl.from_pandas(at.dataframe[{"tension_cellules": 0, "tension_alertes": 1}[key]].value)


def test_page_shows_the_chosen_shift_most_tense_first(indicators_home):
    at = open_page("encadrement_pm")
    box = at.selectbox(key="tension_creneau")
    assert box.options == ["dim. 09/03 06h–14h", "dim. 09/03 14h–22h", "dim. 09/03 22h–06h"]
    assert box.value == SLOTS[0]
    for sj, s in enumerate(SLOTS):
        if sj:
            at.selectbox(key="tension_creneau").set_value(s).run()
            assert not at.exception
        t = frame(at, "tension_cellules")
        # ties of the index: the pipeline's rank (same z and forecast here: more planned events first)
        want = sorted(VISIBLE["both"], key=lambda i: (-index_value(i, sj), -(i % 3), CELLS[i]))
        assert t["Cellule H3"].to_list() == [CELLS[i] for i in want]
        assert t["Indice"].to_list() == [index_value(i, sj) for i in want]
        assert t["Rang"].to_list() == list(range(1, len(want) + 1))
        assert t["Explication"].to_list() == [f"Indice {index_value(i, sj):.0f}/100 : cellule {i}" for i in want]
        data = map_data(at)
        assert sorted(d["h3"] for d in data) == sorted(CELLS[i] for i in VISIBLE["both"])
    first = next(d for d in map_data(at) if d["h3"] == CELLS[0])
    i0 = index_value(0, 2)
    assert first["titre"] == f"Indice {i0:.0f}/100 · tension {'élevée' if i0 >= 40 else 'modérée'}"
    assert first["quand"] == "dim. 09/03 22h–06h" and first["lieu"].endswith(CELLS[0])
    assert first["tendance"] == "Tendance (point chaud émergent) : Point chaud en intensification"
    assert first["composantes"].startswith(f"Significativité {round(i0 * 0.4)}\u202f% → {round(i0 * 0.4)} pts")
    assert first["info"] == f"Indice {i0:.0f}/100 : cellule 0"
    hottest = max(map_data(at), key=lambda d: d["couleur"][3])
    assert hottest["h3"] == frame(at, "tension_cellules")["Cellule H3"][0]  # colour follows the index


def test_alerts_most_recent_first_with_the_emerging_class(indicators_home):
    at = open_page("analyste")
    a = frame(at, "tension_alertes")
    visible = sorted(VISIBLE["both"], key=lambda i: (-(i // 2), i % 3, f"A{i}"))  # starts_at desc, severity
    assert a["Identifiant"].to_list() == [f"A{i}" for i in visible]
    assert a["Explication"].to_list() == [f"alerte {i}" for i in visible]
    by_id = {r["Identifiant"]: r for r in a.to_dicts()}
    assert by_id["A0"]["Gravité"] == "Élevée" and by_id["A1"]["Gravité"] == "Moyenne"
    assert by_id["A0"]["Tendance de la cellule"] == "Point chaud persistant"  # weekly, not the monthly class
    assert by_id["A1"]["Tendance de la cellule"] == "Point chaud sporadique"  # the alert's own category first
    assert by_id["A2"]["Tendance de la cellule"] == ""  # only a class of another category: none shown
    # zones in words: the quartier the alert's cell lies in, with that quartier's arrondissement
    assert by_id["A0"]["Zone"] == "Les Grands-Carmes (2e arrondissement)" and by_id["A0"]["Cellule H3"] == CELLS[0]
    assert not any(z.startswith("Cellule") for z in a["Zone"].to_list())


def test_an_internal_only_profile_sees_only_internal_cells_on_the_page(indicators_home):
    with store.connect() as con:
        habilitations.set_profile_rights(
            con,
            load_principal(con, "demo.admin"),
            "encadrement_pm",
            pages=["accueil_public", "tension", "compte"],
            actions=[],
            conventions=[INTERNAL],
        )
    at = open_page("encadrement_pm")
    assert set(frame(at, "tension_cellules")["Cellule H3"]) == {CELLS[i] for i in VISIBLE["internal_only"]}
    assert set(frame(at, "tension_alertes")["Identifiant"]) == {f"A{i}" for i in VISIBLE["internal_only"]}


def test_one_query_per_widget_change(indicators_home, monkeypatch):
    calls = count_queries(monkeypatch)
    at = open_page("analyste")
    # + the badge of the Alertes page in the navigation (issue 15): its alerts once, cached per catalog × scope
    assert sorted(calls) == [
        "indicators.alerts",
        "indicators.alerts",
        "indicators.emerging_hotspots",
        "indicators.tension",
        "indicators.tension",
    ]
    for value, n in ((SLOTS[1], 1), (SLOTS[2], 1), (SLOTS[0], 0), (SLOTS[1], 0)):
        calls.clear()
        at.selectbox(key="tension_creneau").set_value(value).run()
        assert not at.exception
        assert calls == ["indicators.tension"] * n, (value, calls)


# ----------------------------------------------------------------------------- who may open it
@pytest.mark.parametrize("profile, login", [("lecteur_prefecture", "demo.prefecture"), ("auditeur_dpo", "demo.dpo")])
def test_a_profile_without_the_page_is_refused_server_side(indicators_home, profile, login):
    at = login_as(profile)
    assert "tension" not in at.session_state["tq_pages"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    at = run_page_as(login, "tension.py")
    assert [e.value for e in at.error] == ["Cette page n'est pas ouverte à votre profil."]
    assert not at.title and not at.dataframe and not at.get("deck_gl_json_chart")
    with store.connect() as con:
        assert store.access_log(con, page="tension")[0]["action"] == "acces_refuse"


def test_a_store_seeded_before_the_page_learns_it_at_start_then_it_can_be_granted(app_home, con):
    con.execute("DELETE FROM profile_pages WHERE page = 'tension'")
    con.execute("DELETE FROM pages WHERE code = 'tension'")
    assert "tension" not in load_principal(con, "demo.encadrement").pages
    store.init_store()  # what `serve` and `tranquillite-accounts init` run at start
    habilitations.set_profile_rights(
        con,
        load_principal(con, "demo.admin"),
        "encadrement_pm",
        pages=["accueil_public", "carte", "tension", "compte"],
        actions=["exporter"],
        conventions=[INTERNAL, PREF],
    )
    assert "tension" in load_principal(con, "demo.encadrement").pages


def test_emerging_labels_match_the_indicators_layer():
    from tranquillite.indicators.emerging import EMERGING_CLASSES

    assert T.EMERGING_LABELS == {k: v[0] for k, v in EMERGING_CLASSES.items()}
    from tranquillite.indicators.tension import COMPONENTS

    assert T.COMPONENTS == COMPONENTS


# ----------------------------------------------------------------------------- the pipeline's catalog
@pytest.mark.parametrize("profile", ["encadrement_pm", "analyste"])
def test_tension_page_on_the_pipeline_catalog(app_home, profile):
    at = open_page(profile)
    assert at.title[0].value == "Zones de tension"
    cat = queries.Catalog.open()  # direct DuckDB queries of the published tables, no gateway

    def direct(slot: int) -> pl.DataFrame:
        return pl.from_arrow(
            cat.cursor()
            .sql(
                'SELECT h3_cell, "index", explanation FROM indicators.tension WHERE slot = ? AND "index" > 0 '
                'ORDER BY "index" DESC, h3_cell LIMIT ?',
                params=[slot, T.TOP_N],
            )
            .to_arrow_table()
        )

    try:
        cur = cat.cursor()
        slots = [r[0] for r in cur.execute("SELECT DISTINCT slot FROM indicators.tension ORDER BY slot").fetchall()]
        alerts = [
            r[0] for r in cur.execute(f"SELECT alert_id FROM indicators.alerts ORDER BY {T.ALERT_ORDER}").fetchall()
        ]
        box = at.selectbox(key="tension_creneau")
        assert box.value == slots[0] and len(box.options) == len(slots) == 21
        for slot in (slots[0], slots[5], slots[-1]):
            at.selectbox(key="tension_creneau").set_value(slot).run()
            assert not at.exception
            shown = frame(at, "tension_cellules")
            want = direct(slot)
            assert shown.height == want.height > 0
            assert shown["Cellule H3"].to_list() == want["h3_cell"].to_list()
            assert shown["Indice"].to_list() == want["index"].to_list()
            assert shown["Explication"].to_list() == want["explanation"].to_list()
        assert frame(at, "tension_alertes")["Identifiant"].to_list() == alerts and alerts
    finally:
        cat.close()


def test_the_legend_is_the_index_scale_the_cells_are_drawn_with(indicators_home):
    import re

    at = open_page("analyste")
    for d in map_data(at):  # each cell in the colour of its index on the fixed 0–100 scale
        i = CELLS.index(d["h3"])
        assert d["couleur"] == T.INDEX_SCALE.rgba([index_value(i, 0)])[0].tolist()
    legend = next(m.value for m in at.markdown if "tq-legende" in m.value and "Indice de tension" in m.value)
    swatches = re.findall(r"data-legende='([0-9,]+)'.*?</span> ([0-9]+)</span>", legend)
    assert [v for _, v in swatches] == ["0", "25", "50", "75", "100"]
    assert [tuple(int(x) for x in c.split(",")) for c, _ in swatches] == [c for _, c in T.INDEX_SCALE.legend()]
    assert [tuple(c) for c in T.INDEX_SCALE.rgba([0, 25, 50, 75, 100]).tolist()] == [
        c for _, c in T.INDEX_SCALE.legend()
    ]


def test_quartiers_by_name_and_how_the_index_is_built(indicators_home):
    at = open_page("analyste")
    t = frame(at, "tension_cellules")
    assert set(t["Quartier"]) == {"Vauban", "Belsunce"}  # names, not the codes 1320606 / 1320101
    by_cell = {r["Cellule H3"]: r for r in t.to_dicts()}
    assert by_cell[CELLS[1]]["Quartier"] == "Belsunce" and by_cell[CELLS[1]]["Arrondissement"] == "1er arrondissement"
    lieu = {d["h3"]: d["lieu"] for d in map_data(at)}
    assert lieu[CELLS[0]] == f"Vauban (6e arrondissement) · cellule {CELLS[0]}"
    recipe = next(m.value for m in at.markdown if "additionne cinq composantes" in m.value)
    # the weights measured on the published rows (contribution ÷ component): 100 points each here
    assert "**Significativité** (jusqu'à 100 points)" in recipe
    assert "**Concurrence** (aucune cellule concernée sur ce créneau)" in recipe
    assert "départagées par le z de Gi*" in recipe


def test_index_recipe_states_the_weights_the_rows_were_built_with():
    weights = {"significativite": 30, "tendance": 15, "prevision": 25, "evenements": 20, "concurrence": 10}
    comps = {
        "significativite": [1.0, 0.5],
        "tendance": [0.8, 0.0],
        "prevision": [0.2, 1.0],
        "evenements": [0.0, 0.0],
        "concurrence": [0.0, 0.5],
    }
    df = pl.DataFrame(
        {
            **{f"c_{k}": v for k, v in comps.items()},
            **{f"contribution_{k}": [x * weights[k] for x in v] for k, v in comps.items()},
        }
    )
    assert T.component_points(df) == {**{k: pytest.approx(w) for k, w in weights.items()}, "evenements": None}
    text = T.index_recipe(df)
    assert "**Prévision** (jusqu'à 25 points)" in text and "**Tendance** (jusqu'à 15 points)" in text
    assert "**Événements prévus** (aucune cellule concernée sur ce créneau)" in text


@pytest.mark.parametrize("layer", ["gi", "emergent"])
def test_hot_spot_classes_are_their_own_layer_with_a_legend(indicators_home, layer):
    import re

    at = open_page("analyste")
    at.radio(key="tension_couche").set_value(layer).run()
    assert not at.exception
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert [x["id"] for x in spec["layers"]] == ["arrondissements", f"classes_{layer}"]
    data = spec["layers"][1]["data"]
    if layer == "gi":  # the latest week only, significant cells only, of the cells the scope sees
        want = {CELLS[i]: T.GI_LABELS[GI_CLASSES[i]] for i in VISIBLE["both"] if GI_CLASSES[i] != "non_significatif"}
        colours = {T.GI_LABELS[k]: c for k, c in T.GI_COLOURS.items()}
    else:  # the weekly emerging classes of every category « toutes » (aucun_motif: not drawn)
        want = {CELLS[0]: "Point chaud persistant", CELLS[1]: "Nouveau point chaud"}
        colours = {T.EMERGING_LABELS[k]: c for k, c in T.EMERGING_COLOURS.items()}
    assert {d["h3"]: d["titre"] for d in data} == want
    assert all(d["couleur"] == colours[d["titre"]] for d in data)
    legend = next(m.value for m in at.markdown if T.LAYERS[layer] in m.value)
    swatches = {
        text.split(" : ")[0]: (tuple(int(x) for x in c.split(",")), int(text.split(" : ")[1]))
        for c, text in re.findall(r"data-legende='([0-9,]+)'.*?</span> ([^<]*)</span>", legend)
    }
    assert swatches == {
        label: (tuple(colours[label]), list(want.values()).count(label)) for label in set(want.values())
    }


def test_alert_zones_are_named_by_their_places():
    al = (
        alerts_frame()
        .head(3)
        .with_columns(
            pl.Series("area_level", ["cellule", "arrondissement", "ville"]),
            pl.Series("area", [CELLS[0], "13206", "plusieurs"]),
            pl.Series("h3_cell", [CELLS[0], None, CELLS[1]]),
            pl.Series("arrondissement", ["13202", "13206", "13201"]),
        )
    )
    zones = T.alerts_table(al, None, {}).get_column("Zone").to_list()
    q1 = T.places.place(T.places.cell_quartiers([CELLS[1]])[CELLS[1]])
    assert zones == [
        "Les Grands-Carmes (2e arrondissement)",
        "6e arrondissement",
        f"Plusieurs arrondissements, dont {q1}",
    ]
    assert "plusieurs" not in " ".join(zones).lower().replace("plusieurs arrondissements", "")
