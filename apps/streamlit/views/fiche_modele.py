"""Fiche du modèle (issue 13): a public model card — what the forecast uses and never uses, its
backtest against the baselines on the City's own data (the public aggregate of the City-only
predictors, `models.backtest_public`; the fuller table for the profiles whose scope reads it), the
latest figures of the feedback-loop audit, its limits, and how a manager is expected to use it.
Reads through the scoped gateway only (app_core.fiche_modele)."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import fiche_modele as FM
from tranquillite.app_core.formats import percent as pct

p = app_ui.require("fiche_modele")
st.title("Fiche du modèle de prévision")
app_ui.log_view(p, "fiche_modele")
cat = app_ui.catalog()

st.markdown(
    "La plateforme prévoit, pour chaque cellule de 175 m de côté environ et chaque créneau de 8 heures, le "
    "nombre de faits attendus, pour aider l'encadrement de la Police Municipale à préparer les patrouilles. "
    "Cette fiche dit ce qu'elle utilise, ce qu'elle vaut face à des méthodes simples, ce que l'audit de la "
    "boucle de rétroaction mesure, et comment s'en servir."
)

st.subheader("Ce que la prévision utilise")
st.markdown(
    "\n".join(f"- {s}" for s in FM.forecast_sources()) + "\n"
    "- le calendrier (jours fériés, vacances scolaires, heure et jour de la semaine) et la grille d'étude"
)
st.subheader("Ce qu'elle n'utilise jamais")
st.markdown(
    "- aucune donnée personnelle: ni nom, ni adresse de personne, ni plaque, ni texte libre — seulement des "
    "comptes de faits par cellule et par créneau;\n"
    "- aucun individu: elle ne désigne ni ne note aucune personne, seulement des lieux et des moments;\n"
    "- aucune donnée d'une convention non notifiée, résiliée ou détruite."
)

st.subheader("Ce qu'elle vaut face aux références")
with st.spinner("Chargement de l'évaluation…"):
    bt = FM.backtest_table(cat, p.scope)
    pub = FM.public_backtest_table(cat, p.scope) if bt is None else None


def _champion_mark(label: str) -> pl.Expr:
    return pl.when(pl.col("champion").fill_null(False)).then(pl.lit(label)).otherwise(pl.lit("")).alias("Champion")


def _method() -> pl.Expr:
    return (
        pl.col("model").replace_strict(FM.MODEL_LABELS, default=pl.col("model"), return_dtype=pl.Utf8).alias("Méthode")
    )


def _why(rows: pl.DataFrame) -> None:
    why = rows.filter(pl.col("champion").fill_null(False))["pourquoi"].drop_nulls()
    if why.len():
        st.caption(f"Pourquoi: {why[0]}")


if bt is not None and bt.height:
    st.markdown(
        f"Rétro-test sur les données de la Ville: à chaque origine passée, chaque méthode désigne {pct(FM.COVERAGE)} "
        "de la surface; on mesure la part des faits de la période suivante qui y sont tombés. Le **champion** est "
        "le meilleur; un modèle appris ne l'est que s'il bat la meilleure méthode simple de façon significative."
    )
    for horizon, rows in bt.group_by("horizon", maintain_order=True):
        h = horizon[0]
        table = rows.select(
            _method(),
            (pl.col("hit_rate") * 100).round(1).alias(f"Faits dans les {pct(FM.COVERAGE)} désignés (%)"),
            pl.col("n_origins").alias("Origines"),
            _champion_mark("★ en service"),
        )
        st.markdown(f"**{FM.HORIZON_LABELS.get(h, h)}**")
        st.dataframe(table, hide_index=True, width="stretch")
        _why(rows)
elif pub is not None and pub.height:
    first, last = pub["first_origin"].min(), pub["last_origin"].max()
    st.markdown(
        f"Rétro-test sur les seules données de la Ville, à {int(pub['n_origins'].max())} origines passées "
        f"(du {first:%d/%m/%Y} au {last:%d/%m/%Y}): à chaque origine, chaque méthode désigne une part de "
        "la surface (1, 5, 10 ou 20 %); on mesure la part des faits de la période suivante qui y sont tombés, en "
        "moyenne sur les origines. Les méthodes qui lisent des données partenaires (événements déclarés à la "
        "Préfecture) n'y figurent pas. Le **champion** est la meilleure de ces méthodes; un modèle appris ne l'est "
        "que s'il bat la meilleure méthode simple de façon significative. Colonnes « 1 % » à « 20 % »: part des "
        "faits (en %) tombés dans cette part de la surface désignée par la méthode."
    )
    for horizon, rows in pub.group_by("horizon", maintain_order=True):
        h = horizon[0]
        table = rows.select(
            _method(),
            pl.col("predictor_kind")
            .replace_strict(FM.KIND_LABELS, default=pl.col("predictor_kind"), return_dtype=pl.Utf8)
            .alias("Nature"),
            *[(pl.col(f"hit_rate_{k}") * 100).round(1).alias(f"{k} %") for k in (1, 5, 10, 20)],
            pl.col("n_origins").alias("Origines"),
            _champion_mark("★ champion"),
        )
        st.markdown(f"**{FM.HORIZON_LABELS.get(h, h)}**")
        st.dataframe(table, hide_index=True, width="stretch")
        _why(rows)
elif bt is None and pub is None:
    st.info("L'évaluation (rétro-test) n'est pas encore publiée: elle est calculée par l'entraînement hebdomadaire.")
else:
    st.info("Pas encore d'évaluation: le rétro-test demande plusieurs semaines de données (entraînement hebdomadaire).")

st.subheader("Audit de la boucle de rétroaction")
st.markdown(
    "Une prévision apprise sur les interventions de la police peut envoyer les patrouilles là où la police va "
    "déjà, qui y constatent davantage, ce qui renforce la prévision (Lum et Isaac 2016; Ensign et al. 2017). "
    "L'audit compare, à chaque semaine, la zone désignée par une prévision apprise sur les faits **signalés** "
    "(habitants, centre de supervision) et par la même apprise sur les **interventions** (toutes, ou sans les "
    "catégories d'initiative policière: ivresse, vente à la sauvette, stationnement, occupation de l'espace "
    "public): recouvrement, et écart entre la part de la zone désignée dans chaque arrondissement et sa part "
    "des signalements (0: elle suit les signalements; 1: entièrement ailleurs)."
)
with st.spinner("Chargement de l'audit…"):
    audit = FM.audit_rows(cat, p.scope)
if audit is None or audit.height == 0:
    st.info("Audit pas encore disponible (il est calculé par l'entraînement hebdomadaire).")
else:
    s = FM.audit_summary(audit)
    st.dataframe(
        s.select(
            pl.col("libelle").alias("Prévision apprise sur"),
            (pl.col("jaccard_dernier") * 100).round(0).alias("Recouvrement avec les faits signalés (%)"),
            pl.col("d_dernier").round(2).alias("Écart aux signalements (dernière semaine)"),
            pl.col("d_moyen").round(2).alias("Écart moyen"),
            pl.col("derive").round(3).alias("Dérive par semaine"),
            pl.col("origines").alias("Semaines"),
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Une dérive positive et durable de l'écart des interventions signale une boucle qui s'emballe; "
        "la plateforme peut alors apprendre sur les seuls faits signalés ou sans les catégories "
        "d'initiative policière (réglage de data_contracts/audit_boucle.yaml)."
    )

st.subheader("Ses limites")
st.markdown(
    "- Elle prévoit des **faits enregistrés**, pas la délinquance réelle: ce qui n'est ni signalé ni constaté "
    "lui échappe.\n"
    "- Sur de vraies villes, les meilleurs modèles font à peine mieux qu'un compte des faits de l'année écoulée: "
    "l'écart est affiché ci-dessus, sans l'embellir.\n"
    "- Les intervalles sont des ordres de grandeur; un créneau calme peut surprendre."
)
st.subheader("Comment s'en servir")
st.markdown(
    "La prévision est une aide: **un agent décide**, avec ce qu'il sait du terrain (esprit de l'article 14 du "
    "règlement européen sur l'intelligence artificielle: contrôle humain). Elle ne justifie à elle seule ni un "
    "contrôle, ni une interpellation, ni une décision sur une personne. En cas de doute sur un résultat, "
    "signaler l'écart à l'équipe data de la Ville."
)
