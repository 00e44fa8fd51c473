"""Fiche du modèle (issue 13): public, in the app; the audit's and the backtest's City-only aggregates
for everyone, the fuller backtest for the profiles whose scope reads it; the drift summary computed
from the audit rows. The figures on a real backtest: tests/forecast/test_materialize.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from tests.app.helpers import login_as, new_app, texts
from tranquillite.app_core import fiche_modele as FM
from tranquillite.app_core import queries


def test_the_public_reads_the_model_card_without_an_account(app_home):
    at = new_app().run()
    assert not at.exception, at.exception
    at.switch_page("views/fiche_modele.py").run()
    assert not at.exception, at.exception
    t = texts(at)
    assert "Fiche du modèle de prévision" in t and "un agent décide" in t
    assert "aucune donnée personnelle" in t
    assert "Interventions de la Police Municipale" in t  # the sources, in words
    # the public reads the backtest's City-only aggregate (empty: the test catalog's two days hold no
    # backtest origin) and the audit's; never the fuller backtest
    assert "réservée aux agents de la Ville" not in t and "Pas encore d'évaluation" in t
    cat = queries.Catalog.open()
    try:
        audit_published, public_published = cat.has(FM.AUDIT), cat.has(FM.BACKTEST_PUBLIC)
    finally:
        cat.close()
    assert audit_published and public_published
    audit = at.dataframe[0].value
    assert "Prévision apprise sur" in audit.columns
    assert set(audit["Prévision apprise sur"]) <= set(FM.STREAM_LABELS.values()) and len(audit) >= 2


def test_an_analyst_sees_the_backtest_and_the_champion(app_home, monkeypatch):
    at = login_as("analyste")
    at.switch_page("views/fiche_modele.py").run()
    assert not at.exception, at.exception
    assert "Pas encore d'évaluation" in texts(at)  # the test catalog's two days hold no backtest origin
    # the page's table from backtest rows (as the gateway returns them for a scope that reads them)
    rows = pl.DataFrame(
        {
            "horizon": ["jour_suivant"] * 3,
            "model": ["sepp", "compte_52_semaines", "glm_poisson"],
            "hit_rate": [0.34, 0.33, 0.32],
            "n_origins": [26] * 3,
            "champion": [True, False, False],
            "pourquoi": ["meilleur prédicteur, référence", None, None],
        }
    )
    monkeypatch.setattr(FM, "backtest_table", lambda cat, scope: rows)
    at.run()
    assert not at.exception, at.exception
    bt = next(d.value for d in at.dataframe if "Méthode" in d.value.columns)
    assert list(bt["Méthode"]) == [
        "Processus auto-excitant (SEPP)",
        "Compte des 52 dernières semaines",
        "Régression de Poisson (GLM)",
    ]
    assert list(bt["Champion"]) == ["★ en service", "", ""] and list(bt.iloc[:, 1]) == [34.0, 33.0, 32.0]
    assert "Pourquoi: meilleur prédicteur, référence" in texts(at)


def test_the_public_scope_may_not_read_the_backtest(app_home):
    from tranquillite.app_core import store
    from tranquillite.app_core.rights import public_principal

    with store.connect() as con:
        scope = public_principal(con).scope
    cat = queries.Catalog.open()
    try:
        with pytest.raises(queries.Forbidden):
            queries.scoped_query(cat, scope, FM.BACKTEST, select="model", level="aggregate", group_by="model")
        assert FM.backtest_table(cat, scope) is None
        assert FM.public_backtest_table(cat, scope) is not None  # its City-only aggregate is open to it
        with store.connect() as con:
            from tranquillite.app_core.rights import load_principal

            analyst = next(
                load_principal(con, r["login"])
                for r in con.execute("SELECT login, profile FROM users")
                if r["profile"] == "analyste"
            )
        assert FM.backtest_table(cat, analyst.scope) is not None  # read through the gateway: a frame
        assert FM.audit_rows(cat, scope).height > 0  # the audit's aggregates are open to the public
    finally:
        cat.close()


def test_the_audit_summary_gives_the_latest_figures_and_the_drift():
    t0 = datetime(2025, 1, 6)
    rows = pl.DataFrame(
        {
            "origin": [t0 + timedelta(weeks=k) for k in range(4)] * 2,
            "stream": ["police"] * 4 + ["signale"] * 4,
            "jaccard": [0.5, 0.4, 0.3, 0.2, 1.0, 1.0, 1.0, 1.0],
            "d_reports": [0.1, 0.2, 0.3, 0.4, 0.05, 0.05, 0.05, 0.05],
            "d_population": [0.2] * 8,
            "gini": [0.3] * 8,
        }
    )
    s = FM.audit_summary(rows)
    assert s["stream"].to_list() == ["signale", "police"]  # in the order of the labels
    police = s.filter(pl.col("stream") == "police").row(0, named=True)
    assert police["d_dernier"] == pytest.approx(0.4) and police["jaccard_dernier"] == pytest.approx(0.2)
    assert police["derive"] == pytest.approx(0.1) and police["d_moyen"] == pytest.approx(0.25)
    assert police["origines"] == 4
    assert s.filter(pl.col("stream") == "signale")["derive"][0] == pytest.approx(0.0)
