"""The Prévisions page: the champion's hotspots of one category × shift, and how far to trust them.

Exact assertions run on a hand-built `models.*` catalog with known values (`models_home`); the
pipeline's catalog (`app_home`, whose forecast is all zeros: two days of data) checks that the
page reads the real published tables.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta

import h3
import polars as pl
import pytest

from tests.app.helpers import catalog_home, count_queries, login_as, run_page_as
from tranquillite.app_core import queries, store

PAGE = "views/previsions.py"
MODEL_LABELS = {
    "derniere_periode": "Dernière période",
    "moyenne_saisonniere": "Moyenne saisonnière",
    "lgbm_avec_evenements": "LightGBM avec les événements prévus",
    "oracle": "Oracle (intensité vraie, données synthétiques)",
}
CATS = ["all", "interventions", "alertes_videoprotection", "signalements"]
CAT_LABELS = [
    "Tous les faits",
    "Interventions de la Police Municipale",
    "Alertes vidéoprotection (CSU)",
    "Signalements",
]  # the contracts' names of the sources
SLOTS = [60468, 60469, 60470]  # 2025-03-09, the 3 shifts
SLOT_LABELS = ["dim. 09/03 06h–14h", "dim. 09/03 14h–22h", "dim. 09/03 22h–06h"]
ORIGIN = datetime(2025, 3, 9, 6)
CELLS = sorted(h3.grid_disk(h3.latlng_to_cell(43.2965, 5.3700, 9), 4))[:40]
CHAMPION = "lgbm_avec_evenements"
EXPLAINED = (
    '[{"feature": "alertes_videoprotection_28d_same", "contribution": 0.25, "value": 66}, '
    '{"feature": "faits_7j", "contribution": -0.7, "value": 3}, '
    '{"feature": "interventions_nb_7d", "contribution": 9.3, "value": 1234}]'
)
EXPLAINED_TEXT = (
    "66 alertes de vidéoprotection sur ce créneau horaire les 4 dernières semaines (×1,28) ; "
    "faits_7j = 3 (÷2,01) ; 1\u202f234 interventions dans les cellules voisines les 7 derniers jours "
    "(×plus de 10)"
)  # words from the feature names; a name no pattern knows stays as it is
RAW_TEXT = "texte libre, pas du JSON"
# mean next-day hit rates over the two origins, per (category, coverage): model -> per-origin values
HIT_RATES = {
    ("all", 0.05): {
        "derniere_periode": [0.10, 0.28],
        "moyenne_saisonniere": [0.20, 0.20],
        CHAMPION: [0.30, 0.40],
        "oracle": [0.50, 0.50],
    },
    ("all", 0.20): {
        "derniere_periode": [0.30, 0.30],
        "moyenne_saisonniere": [0.40, 0.40],
        CHAMPION: [0.60, 0.60],
        "oracle": [0.80, 0.80],
    },
    ("interventions", 0.05): {CHAMPION: [0.20, 0.20], "oracle": [0.40, 0.40]},
}


def expected_value(ci: int, sj: int, i: int) -> float:
    """A distinct permutation of 0.0 … 3.9 over the 40 cells of each category × shift."""
    return ((i * 7 + sj * 13 + ci * 5) % 40) / 10


def top_cells(category: str, slot: int, k: int) -> list[str]:
    ci, sj = CATS.index(category), SLOTS.index(slot)
    return sorted(CELLS, key=lambda c: -expected_value(ci, sj, CELLS.index(c)))[:k]


def forecast_frame() -> pl.DataFrame:
    rows = []
    for ci, c in enumerate(CATS):
        for sj, s in enumerate(SLOTS):
            for i, cell in enumerate(CELLS):
                e = expected_value(ci, sj, i)
                rank = 40 - round(e * 10)
                rows.append(
                    {
                        "origin": ORIGIN,
                        "slot": s,
                        "slot_start": ORIGIN + timedelta(hours=8 * sj),
                        "slot_end": ORIGIN + timedelta(hours=8 * (sj + 1)),
                        "lead": sj,
                        "category": c,
                        "h3_cell": cell,
                        "zone": "13201" if i % 2 else "13206",
                        "expected": e,
                        "lower_80": e * 0.5 + 0.25,
                        "upper_80": e * 1.5 + 0.9,
                        "lower_95": e * 0.25 + 0.1,
                        "upper_95": e * 2 + 1.45,
                        "rank": rank,
                        "explanations": EXPLAINED if rank == 1 else RAW_TEXT if rank == 2 else "[]",
                        "model": CHAMPION,
                        "model_version": "v1" if c != "all" else None,
                    }
                )
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("lead").cast(pl.Int16), pl.col("rank").cast(pl.Int32)
    )


def backtest_frame() -> pl.DataFrame:
    rows = []
    origins = [datetime(2025, 2, 2, 6), datetime(2025, 2, 9, 6)]
    for (c, cov), models in HIT_RATES.items():
        for k, o in enumerate(origins):
            ref = models["oracle"][k]
            for m, hrs in models.items():
                for horizon, hr in (("jour_suivant", hrs[k]), ("7_jours", 0.99), ("creneau_suivant", 0.01)):
                    rows.append(
                        {
                            "model": m,
                            "category": c,
                            "horizon": horizon,
                            "origin": o,
                            "coverage": cov,
                            "hit_rate": hr,
                            "pai": hr / cov,
                            "pei": hr,
                            "n_events": 100,
                            "hits": hr * 100,
                            "max_hits": 100.0,
                            "oracle_hit_rate": ref,
                            "hit_rate_vs_oracle": hr / ref,
                        }
                    )
    return pl.DataFrame(rows)


def scores_frame() -> pl.DataFrame:
    rows = []
    for c, cov95, cov80 in (("all", [0.94, 0.96], [0.78, 0.80]), ("interventions", [0.90, 0.90], [0.70, 0.70])):
        for k, o in enumerate([datetime(2025, 2, 2, 6), datetime(2025, 2, 9, 6)]):
            for horizon, f in (("jour_suivant", 1.0), ("7_jours", 0.5)):
                rows.append(
                    {
                        "model": CHAMPION,
                        "category": c,
                        "horizon": horizon,
                        "origin": o,
                        "poisson_deviance": 0.3,
                        "interval_coverage_80": cov80[k] * f,
                        "interval_coverage_95": cov95[k] * f,
                        "strict_coverage_80": 0.9,
                        "strict_coverage_95": 0.99,
                        "expected": 10.0,
                        "observed": 11.0,
                        "n_cells": 40,
                        "n_slots": 3,
                    }
                )
    return pl.DataFrame(rows)


@pytest.fixture
def models_home(app_home, monkeypatch):
    """A home whose catalog holds hand-built `models.*` tables with known values."""
    return catalog_home(
        app_home,
        "home_models",
        {
            ("models", "forecast"): forecast_frame(),
            ("models", "backtest"): backtest_frame(),
            ("models", "backtest_scores"): scores_frame(),
        },
        monkeypatch,
    )


def open_page(profile: str = "analyste"):
    at = login_as(profile)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def cells_table(at) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[0].value)


def confidence(at) -> dict[str, dict]:
    """The figures under the confidence chart (French text), by model name."""
    df = pl.from_pandas(at.dataframe[-1].value.reset_index(drop=True))
    assert "Taux de détection" in df.columns
    return {r["Modèle"]: r for r in df.to_dicts()}


def confidence_chart(at) -> list[dict]:
    """The rows of the confidence chart's dataset (Arrow, as Streamlit sends it to the browser)."""
    import pyarrow as pa

    proto = at.get("vega_lite_chart")[0].proto
    assert json.loads(proto.spec)["layer"][0]["mark"]["type"] == "bar"
    return pa.ipc.open_stream(proto.datasets[0].data.data).read_all().to_pylist()


def map_data(at) -> list[dict]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return next(layer for layer in spec["layers"] if layer["id"] == "prevision")["data"]


def markdown(at, needle: str) -> str:
    return next(m.value for m in at.markdown if needle in m.value)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# ----------------------------------------------------------------------------- hand-built catalog
def test_hotspot_table_follows_category_shift_and_share(models_home):
    at = open_page("analyste")
    assert at.selectbox(key="prev_categorie").value == "all"
    assert at.selectbox(key="prev_categorie").options == CAT_LABELS
    assert at.selectbox(key="prev_creneau").options == SLOT_LABELS
    assert at.selectbox(key="prev_creneau").value == SLOTS[0]
    assert at.selectbox(key="prev_part").value == 0.05
    # 5 % of 40 cells = 2 cells, best first, of 'all' × the first shift only
    t = cells_table(at)
    assert t["Rang"].to_list() == [1, 2]
    assert t["Cellule H3"].to_list() == top_cells("all", SLOTS[0], 2)
    assert t["Attendus"].to_list() == ["3,90", "3,80"]  # French decimals
    # integer bounds of the jittered intervals: floor(lower)–floor(upper)
    assert t["Intervalle 80 %"].to_list() == ["2–6", "2–6"]
    assert t["Intervalle 95 %"].to_list() == ["1–9", "1–9"]
    assert t["Explications"].to_list() == [EXPLAINED_TEXT, RAW_TEXT]  # JSON in words, other text as is
    assert "**78,0** faits attendus" in markdown(at, "faits attendus")
    assert "**7,7** (10\u202f%)" in markdown(at, "faits attendus")  # 3.9 + 3.8 of the 78 in the hotspot

    at.selectbox(key="prev_part").set_value(0.20).run()
    t = cells_table(at)
    assert t["Rang"].to_list() == list(range(1, 9))
    assert t["Cellule H3"].to_list() == top_cells("all", SLOTS[0], 8)

    at.selectbox(key="prev_categorie").set_value("interventions").run()
    t2 = cells_table(at)
    assert t2["Rang"].to_list() == list(range(1, 9))
    assert t2["Cellule H3"].to_list() == top_cells("interventions", SLOTS[0], 8) != t["Cellule H3"].to_list()

    at.selectbox(key="prev_creneau").set_value(SLOTS[2]).run()
    t3 = cells_table(at)
    assert t3["Cellule H3"].to_list() == top_cells("interventions", SLOTS[2], 8) != t2["Cellule H3"].to_list()
    assert not at.exception


def test_map_colours_every_cell_and_outlines_the_hotspot(models_home):
    at = open_page("encadrement_pm")
    data = map_data(at)
    assert len(data) == 39  # every cell with expected > 0 (one cell expects 0 and is not in the hotspot)
    hot = [d for d in data if d["contour"][3] > 0]
    assert sorted(d["h3"] for d in hot) == sorted(top_cells("all", SLOTS[0], 2))
    first = next(d for d in data if d["h3"] == top_cells("all", SLOTS[0], 1)[0])
    assert first["titre"].startswith("Rang 1 · 3,90 fait(s) attendu(s)")
    assert first["ic80"] == "2–6" and first["ic95"] == "1–9" and first["info"] == EXPLAINED_TEXT
    assert first["quand"] == SLOT_LABELS[0] and first["lieu"].endswith(first["h3"])
    # colour by expected count: the best cell is the most opaque
    assert first["couleur"][3] == max(d["couleur"][3] for d in data)


def test_confidence_chart_and_figures_from_known_backtest_numbers(models_home):
    at = open_page("analyste")
    conf = confidence(at)
    L = MODEL_LABELS
    assert list(conf) == [L[CHAMPION], L["moyenne_saisonniere"], L["derniere_periode"], L["oracle"]]  # oracle last
    champ = conf[L[CHAMPION]]
    assert champ["Rôle"].startswith("★ champion") and champ["Modèle"] == "LightGBM avec les événements prévus"
    assert champ["Taux de détection"] == "35,0\u202f%"  # mean over origins, next day only, in French
    assert champ["PAI"] == "7,0"
    assert champ["Rapport à l'oracle"] == "70\u202f%"  # 0.35 / 0.50
    assert conf[L["derniere_periode"]]["Rapport à l'oracle"] == "38\u202f%"
    assert conf[L["oracle"]]["Rapport à l'oracle"] == "100\u202f%"
    assert conf[L["oracle"]]["Rôle"].startswith("référence")
    assert champ["Dates testées"] == "2" and champ["Faits"] == "200"
    # the chart: one bar per model, in the same order, labelled in French, the champion marked
    bars = confidence_chart(at)
    assert [b["Modèle"] for b in bars] == list(conf)
    assert [b["taux"] for b in bars] == pytest.approx([0.35, 0.20, 0.19, 0.50])
    assert [b["etiquette"] for b in bars] == ["35,0\u202f%", "20,0\u202f%", "19,0\u202f%", "50,0\u202f%"]
    assert [b["role"] for b in bars] == [
        "Champion (carte ci-dessus)",
        "Autre modèle",
        "Autre modèle",
        "Oracle (référence)",
    ]
    summary = markdown(at, "rétro-tests")
    assert "**35\u202f%**" in summary and "**70\u202f%**" in summary
    assert metrics(at) == {
        "Couverture de l'intervalle à 95 %": "95\u202f%",
        "Couverture de l'intervalle à 80 %": "79\u202f%",
    }

    at.selectbox(key="prev_part").set_value(0.20).run()  # the backtest's coverage follows the hotspot share
    conf = confidence(at)
    assert conf[L[CHAMPION]]["Rapport à l'oracle"] == "75\u202f%"
    assert conf[L[CHAMPION]]["PAI"] == "3,0"

    at.selectbox(key="prev_part").set_value(0.05)
    at.selectbox(key="prev_categorie").set_value("interventions").run()
    conf = confidence(at)
    assert list(conf) == [L[CHAMPION], L["oracle"]]
    assert conf[L[CHAMPION]]["Rapport à l'oracle"] == "50\u202f%"
    assert metrics(at)["Couverture de l'intervalle à 95 %"] == "90\u202f%"

    at.selectbox(key="prev_categorie").set_value("signalements").run()  # no evaluation for it
    assert len(at.dataframe) == 1 and not at.get("vega_lite_chart")
    assert any("Aucune évaluation" in i.value for i in at.info) and not at.metric


def test_one_query_per_widget_change(models_home, monkeypatch):
    calls = count_queries(monkeypatch)
    at = open_page("analyste")
    # the backtest's summary and the champion's choice; + the badge of the Alertes page in the navigation
    # (issue 15): its alerts once, cached per catalog × scope
    assert sorted(calls) == [
        "indicators.alerts",
        "models.backtest",
        "models.backtest",
        "models.backtest_scores",
        "models.forecast",
        "models.forecast",
    ]
    for key, value, n in (
        ("prev_creneau", SLOTS[1], 1),
        ("prev_part", 0.10, 0),
        ("prev_categorie", "signalements", 1),
        ("prev_categorie", "all", 0),
        ("prev_creneau", SLOTS[0], 0),
    ):
        calls.clear()
        at.selectbox(key=key).set_value(value).run()
        assert not at.exception
        assert calls == ["models.forecast"] * n, (key, value, calls)


def test_categories_follow_the_scope(models_home):
    """A CSU supervisor sees interventions and alerts only: neither reports nor the total of all facts."""
    from tranquillite.app_core import habilitations
    from tranquillite.app_core.rights import load_principal

    with store.connect() as con:
        admin = load_principal(con, "demo.habilitations")
        habilitations.update_user(con, admin, "demo.analyste", activity_nature="supervision_videoprotection")
    at = open_page("analyste")
    assert at.selectbox(key="prev_categorie").options == [
        "Interventions de la Police Municipale",
        "Alertes vidéoprotection (CSU)",
    ]
    assert cells_table(at)["Cellule H3"].to_list() == top_cells("interventions", SLOTS[0], 2)


def test_prefecture_reader_gets_no_forecast(models_home):
    at = login_as("lecteur_prefecture")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    # the page itself refuses, even run directly for that principal (server-side guard)
    at = run_page_as("demo.prefecture", "previsions.py")
    assert [e.value for e in at.error] == ["Cette page n'est pas ouverte à votre profil."]
    assert not at.title and not at.dataframe
    with store.connect() as con:
        assert store.access_log(con, page="previsions")[0]["action"] == "acces_refuse"
        from tranquillite.app_core.rights import load_principal

        reader = load_principal(con, "demo.prefecture")
    cat = queries.Catalog.open()  # and its scope gets no row of the models tables (convention internal)
    try:
        for table in ("models.forecast", "models.backtest", "models.backtest_scores"):
            assert queries.scoped_query(cat, reader.scope, table, select="*").height == 0
    finally:
        cat.close()


# ----------------------------------------------------------------------------- the pipeline's catalog
@pytest.mark.parametrize("profile", ["analyste", "encadrement_pm"])
def test_forecast_page_on_the_pipeline_catalog(app_home, profile):
    at = open_page(profile)
    cat = queries.Catalog.open()
    try:
        first = cat.cursor().execute("SELECT min(slot) FROM models.forecast").fetchone()[0]
        n = (
            cat.cursor()
            .execute("SELECT count(*) FROM models.forecast WHERE category = 'all' AND slot = ?", [first])
            .fetchone()[0]
        )
        k = math.ceil(0.05 * n)
        want = [
            r[0]
            for r in cat.cursor()
            .execute(
                "SELECT h3_cell FROM models.forecast WHERE category = 'all' AND slot = ? "
                "AND (round(expected, 2) > 0 OR floor(upper_95) >= 1) ORDER BY rank LIMIT ?",
                [first, k],
            )
            .fetchall()
        ]
    finally:
        cat.close()
    assert at.selectbox(key="prev_creneau").value == first and len(at.selectbox(key="prev_creneau").options) == 21
    assert "Prévisions" in at.title[0].value
    if want:
        t = cells_table(at)
        assert t["Rang"].to_list() == list(range(1, len(want) + 1)) and t["Cellule H3"].to_list() == want
    else:  # two days of data: every cell expects 0,00 (interval 0–0), none is a hot spot
        assert any("Aucune cellule signalée" in i.value for i in at.info)
        assert "les **0** cellules signalées" in markdown(at, "faits attendus")
    # the pipeline's backtest has no scored origin on two days of data
    assert any("Aucune évaluation" in i.value for i in at.info)


def test_a_cell_expecting_nothing_is_not_a_hot_spot(app_home, monkeypatch):
    """Issue 15: a cell forecasting 0,00 with interval 0–0 was ranked sixth among the hot spots."""
    f = forecast_frame().with_columns(
        *[
            pl.when(pl.col("rank") > 3).then(0.0).otherwise(pl.col(c)).alias(c)
            for c in ("expected", "lower_80", "upper_80", "lower_95", "upper_95")
        ]
    )
    catalog_home(
        app_home, "home_zero", {("models", "forecast"): f, ("models", "backtest"): backtest_frame()}, monkeypatch
    )
    at = open_page("analyste")
    at.selectbox(key="prev_part").set_value(0.20).run()  # 8 cells of 40 asked, 3 expect something
    t = cells_table(at)
    assert t["Rang"].to_list() == [1, 2, 3]
    assert "0,00" not in t["Attendus"].to_list()
    assert "les **3** cellules signalées" in markdown(at, "faits attendus")
    outlined = [d["h3"] for d in map_data(at) if d["contour"][3] > 0]
    assert sorted(outlined) == sorted(top_cells("all", SLOTS[0], 3))


def test_forecast_legend_is_the_scale_of_the_cells(models_home):
    at = open_page("analyste")
    data = map_data(at)
    legend = next(m.value for m in at.markdown if "tq-legende" in m.value)
    assert "Faits attendus par cellule" in legend
    swatches = re.findall(r"data-legende='([0-9,]+)'.*?</span> ([0-9,]+)</span>", legend)
    assert swatches[-1][1] == "3,90" and swatches[0][1] == "0,00"  # up to the shift's highest expectation
    best = next(d for d in data if d["titre"].startswith("Rang 1 "))
    assert tuple(int(v) for v in swatches[-1][0].split(",")) == tuple(best["couleur"])
    values = [float(v.replace(",", ".")) for _, v in swatches]
    assert values == sorted(values) and len(values) == 5
