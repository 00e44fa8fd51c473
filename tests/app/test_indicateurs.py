"""The *Indicateurs* page (issue 15, T7): the catalogue with who may see each indicator, values by
arrondissement with trends a year apart and small counts said, the weekly briefing as a PDF export —
and each indicator's profiles enforced by the gateway, not by the page."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from tests.app.helpers import catalog_home, login_as
from tranquillite.app_core import indicateurs as I
from tranquillite.app_core import queries, store
from tranquillite.app_core.rights import load_principal

COUNTS, SHARE = "faits_par_categorie", "completude_source"  # profiles: … encadrement_pm … / analyste, dpo
DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(700)]  # 2024-01-01 → 2025-11-30
LAST = DAYS[-1]


def _values() -> pl.DataFrame:
    rows = []
    for d in DAYS:
        this_year = d.year == 2025
        for area, v in (
            ("13201", 2.0 if this_year else 1.0),  # doubled in a year
            ("13202", 1.0 if d.toordinal() % 7 == 0 else 0.0),
        ):  # 4 facts in 28 days: no % evolution
            rows.append(
                {
                    "indicator_id": COUNTS,
                    "area_level": "arrondissement",
                    "area": area,
                    "period_level": "jour",
                    "period_start": d,
                    "value": v,
                    "n": int(v),
                }
            )
        rows.append(
            {
                "indicator_id": COUNTS,
                "area_level": "ville",
                "area": "13",
                "period_level": "jour",
                "period_start": d,
                "value": (2.0 if this_year else 1.0) + 0.1,
                "n": 3,
            }
        )
    for m in range(1, 13):
        for year, share in ((2024, 90.0), (2025, 95.0)):
            rows.append(
                {
                    "indicator_id": SHARE,
                    "area_level": "ville",
                    "area": "13",
                    "period_level": "mois",
                    "period_start": date(year, m, 1),
                    "value": share,
                    "n": 1000,
                }
            )
    df = pl.DataFrame(rows).with_columns(
        pl.lit("toutes").alias("dimension"),
        pl.col("period_start").cast(pl.Utf8).alias("period"),
        (pl.col("period_start") + pl.duration(days=1)).alias("period_end"),
        pl.lit(True).alias("complete"),
        pl.lit(["internal"]).alias("conventions"),
    )
    ly = df.filter(pl.col("period_level") == "mois").select(
        "indicator_id",
        "area",
        (pl.col("period_start").dt.offset_by("1y")).alias("period_start"),
        pl.col("value").alias("value_ly"),
        pl.col("n").alias("n_ly"),
    )
    return df.join(ly, on=["indicator_id", "area", "period_start"], how="left").with_columns(
        ((pl.col("value") / pl.col("value_ly") - 1) * 100).alias("evolution_ly_pct")
    )


def _catalogue() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator_id": [COUNTS, SHARE],
            "name": ["Faits constatés par catégorie", "Complétude des sources"],
            "definition": ["Nombre de faits constatés.", "Part des enregistrements valides."],
            "formula": ["count(*)", "propres / lus"],
            "unit": ["faits", "%"],
            "sources": [["interventions", "signalements"], ["interventions"]],
            "relation": ["faits", "qualite"],
            "value_sql": ["count(*)", "x"],
            "filter_sql": [None, None],
            "breakdown_sql": [None, None],
            "areas": [["arrondissement", "ville"], ["ville"]],
            "periods": [["jour", "mois"], ["mois"]],
            "trends": [True, True],
            "owner": ["DGSEC", "DGANSI"],
            "profiles": [
                ["admin_technique", "encadrement_pm", "analyste", "partenaire", "public"],
                ["admin_technique", "analyste", "auditeur_dpo"],
            ],
            "public": [True, False],
            "public_threshold": [11, 11],
            "status": ["calcule", "calcule"],
            "conventions": [["internal"], ["internal"]],
        }
    )


@pytest.fixture
def home(app_home, monkeypatch):
    return catalog_home(
        app_home,
        "home_indicateurs",
        {("indicators", "values"): _values(), ("indicators", "catalogue"): _catalogue()},
        monkeypatch,
    )


def _ids(scope) -> set[str]:
    cat = queries.Catalog.open()
    try:
        df = queries.scoped_query(cat, scope, "indicators.values", select="DISTINCT indicator_id", level="aggregate")
        return set(df.get_column("indicator_id").to_list())
    finally:
        cat.close()


def test_an_indicators_values_reach_only_the_profiles_it_names(home):
    with store.connect() as con:
        manager, analyst = load_principal(con, "demo.encadrement"), load_principal(con, "demo.analyste")
    assert SHARE not in manager.scope.indicators and COUNTS in manager.scope.indicators
    assert _ids(manager.scope) == {COUNTS}  # the gateway, whatever the page asks
    assert _ids(analyst.scope) == {COUNTS, SHARE}


def test_trends_over_28_days_and_the_year_with_small_counts_said(home):
    with store.connect() as con:
        analyst = load_principal(con, "demo.analyste")
    cat = queries.Catalog.open()
    try:
        t = I.trends(cat, analyst.scope, COUNTS, "faits")
        share = I.trends(cat, analyst.scope, SHARE, "%")
    finally:
        cat.close()
    assert t.kind == I.CUMUL and t.as_of == LAST + timedelta(days=1)
    rows = {r["area"]: r for r in t.table.iter_rows(named=True)}
    assert rows["13201"]["28j"] == 56 and rows["13201"]["28j_an"] == 28
    assert rows["13201"]["evolution_28j"] == pytest.approx(100.0)
    assert rows["13201"]["ytd"] == 2 * 334 and rows["13201"]["ytd_an"] == 334  # Jan 1st → Nov 30th, a year apart
    assert rows["13201"]["evolution_ytd"] == pytest.approx(100.0)
    assert rows["13202"]["n_28j"] == 4 and rows["13202"]["28j_an"] == 4 and rows["13202"]["evolution_28j"] is None
    assert t.table["area_level"][0] == "ville"
    assert share.kind == I.MONTH and share.as_of == date(2025, 12, 1)
    assert share.table["evolution_ly_pct"][0] == pytest.approx((95 / 90 - 1) * 100)


def test_no_evolution_in_percent_on_a_handful_of_facts():
    rows = pl.DataFrame(
        {
            "area_level": ["arrondissement"] * 3,
            "area": ["13202"] * 3,
            "period_start": [date(2024, 1, 1), date(2024, 12, 20), date(2025, 12, 20)],
            "value": [0.0, 1.0, 3.0],
            "n": [0, 1, 3],
        }
    )
    r = I.cumulative(COUNTS, rows).table.row(0, named=True)
    assert r["28j"] == 3 and r["28j_an"] == 1 and r["evolution_28j"] is None  # +200 % on 1 → 3 means nothing
    # a year before the data began is unknown, not zero
    r = I.cumulative(COUNTS, rows.slice(1)).table.row(0, named=True)
    assert r["28j"] == 3 and r["28j_an"] is None and r["evolution_28j"] is None
    assert I.fr_evolution(None).startswith("non interprétable") and I.fr_evolution(12.34) == "+12,3\u202f%"


def test_the_page_lists_the_catalogue_shows_trends_and_exports_the_briefing(home):
    at = login_as("encadrement_pm")
    at.switch_page("views/indicateurs.py").run()
    assert not at.exception, at.exception
    catalogue = at.dataframe[0].value
    assert list(catalogue["Indicateur"]) == ["Complétude des sources", "Faits constatés par catégorie"]
    assert "Encadrement de la Police Municipale (DGSEC)" in catalogue["Profils autorisés"][1]
    assert "Encadrement" not in catalogue["Profils autorisés"][0] and "Analyste" in catalogue["Profils autorisés"][0]
    assert list(catalogue["Ouvert à votre profil"]) == [False, True]
    # only its indicators to choose from
    assert at.selectbox(key="ind_choix").options == ["Faits constatés par catégorie"]
    trend = at.dataframe[1].value
    assert trend["Territoire"][0] == "Ville de Marseille"
    row = trend[trend["Territoire"] == "1er arrondissement"].iloc[0]
    assert row["28 derniers jours"] == "56" and row["Évolution (28 jours)"] == "+100,0\u202f%"
    next(b for b in at.button if b.label == "Préparer la note (PDF)").click()
    at.run()
    assert not at.exception, at.exception
    assert any(b.label == "Télécharger la note (PDF)" for b in at.get("download_button"))
    with store.connect() as con:
        line = store.access_log(con, login="demo.encadrement", page="indicateurs")
    exports = [x for x in line if x["action"] == "export_pdf"]
    assert len(exports) == 1 and exports[0]["export"] == 1


def test_the_briefing_is_a_pdf_export_refused_without_the_right(home):
    with store.connect() as con:
        manager, dpo = load_principal(con, "demo.encadrement"), load_principal(con, "demo.dpo")
    cat = queries.Catalog.open()
    try:
        inds = [r for r in _catalogue().iter_rows(named=True) if r["indicator_id"] == COUNTS]
        pdf = I.briefing_pdf(cat, manager, inds, {"13201": "1er arrondissement"})
        assert pdf.startswith(b"%PDF")
        with pytest.raises(queries.Forbidden):
            I.briefing_pdf(cat, dpo, inds, {})
    finally:
        cat.close()
