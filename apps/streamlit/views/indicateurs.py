"""Indicateurs (T7): the catalogue of the platform's indicators, each one's values by arrondissement
with its trends against a year before, and the weekly briefing as a PDF for the managers' meeting."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import habilitations, store
from tranquillite.app_core import formats
from tranquillite.app_core import indicateurs as I
from tranquillite.app_core.carte import SOURCE_LABELS, arrondissement_names
from tranquillite.app_core.queries import Forbidden, NotAvailable
from tranquillite.contracts import load_conventions

p = app_ui.require("indicateurs")
st.title("Indicateurs")
app_ui.log_view(p, "indicateurs")
cat = app_ui.catalog()

with st.spinner("Chargement du catalogue des indicateurs…"):
    try:
        cata = I.catalogue(cat, p.scope)
    except NotAvailable:
        st.info("Le catalogue des indicateurs n'est pas encore publié (tâche « indicateurs »).")
        st.stop()
with store.connect() as con:
    profile_labels = {x["code"]: x["label"] for x in habilitations.profiles(con)}
conventions = {code: c.get("title", code) for code, c in load_conventions().items()}
mine = set(p.scope.indicators or ())
names = arrondissement_names()

st.subheader("Catalogue")
st.caption(
    "Chaque indicateur est défini dans data_contracts/indicators.yaml; ses valeurs ne sont lues que par les "
    "profils qu'il nomme (contrôlé par la passerelle de données)."
)
st.dataframe(
    cata.select(
        pl.col("name").alias("Indicateur"),
        pl.col("definition").alias("Définition"),
        pl.col("formula").alias("Formule"),
        pl.col("unit").alias("Unité"),
        pl.col("sources")
        .list.eval(pl.element().replace_strict(SOURCE_LABELS, default=pl.element()))
        .list.join(", ")
        .alias("Sources"),
        pl.col("conventions")
        .list.eval(pl.element().replace_strict(conventions, default=pl.element()))
        .list.join(", ")
        .alias("Conventions"),
        pl.col("profiles")
        .list.eval(pl.element().replace_strict(profile_labels, default=pl.element()))
        .list.join(", ")
        .alias("Profils autorisés"),
        pl.col("indicator_id").is_in(list(mine)).alias("Ouvert à votre profil"),
    ),
    hide_index=True,
    width="stretch",
)

open_ = cata.filter(pl.col("indicator_id").is_in(list(mine)))
if open_.height == 0:
    st.info("Aucun indicateur n'est ouvert à votre profil.")
    st.stop()
by_id = {r["indicator_id"]: r for r in open_.iter_rows(named=True)}

st.subheader("Valeurs et évolutions")
choice = st.selectbox("Indicateur", list(by_id), format_func=lambda i: by_id[i]["name"], key="ind_choix")
app_ui.log_choices(p, "indicateurs", {"indicateur": choice})
ind = by_id[choice]
with st.spinner("Calcul des évolutions…"):
    t = I.trends(cat, p.scope, choice, ind["unit"])
if t.as_of is None:
    st.info("Pas encore de valeurs pour cet indicateur.")
else:
    area = (
        pl.when(pl.col("area_level") == "ville")
        .then(pl.lit("Ville de Marseille"))
        .otherwise(pl.col("area").replace_strict(names, default=pl.col("area")))
        .alias("Territoire")
    )
    num = lambda c, d=0: pl.col(c).map_elements(lambda x: formats.number(x, d, "—"), return_dtype=pl.Utf8)  # noqa: E731
    evo = lambda c: pl.col(c).map_elements(I.fr_evolution, return_dtype=pl.Utf8, skip_nulls=False)  # noqa: E731
    if t.kind == I.CUMUL:
        last = t.as_of.fromordinal(t.as_of.toordinal() - 1)
        st.caption(
            f"Données jusqu'au {last:%d/%m/%Y} inclus. Mêmes jours un an plus tôt (364 jours: mêmes jours "
            f"de la semaine). Moins de {I.SMALL_COUNT} de part ou d'autre: pas d'évolution en %, elle ne "
            "voudrait rien dire."
        )
        shown = t.table.select(
            area,
            num("28j").alias("28 derniers jours"),
            num("28j_an").alias("Un an plus tôt"),
            evo("evolution_28j").alias("Évolution (28 jours)"),
            num("ytd").alias("Depuis le 1er janvier"),
            num("ytd_an").alias("Même période N-1"),
            evo("evolution_ytd").alias("Évolution (année)"),
        )
    else:
        st.caption(f"Dernier mois complet ({t.table['period'][0]}), comparé au même mois un an plus tôt.")
        shown = t.table.select(
            area,
            num("value", 1).alias(f"Valeur ({ind['unit']})"),
            num("value_ly", 1).alias("Un an plus tôt"),
            evo("evolution_ly_pct").alias("Évolution sur un an"),
        )
    st.dataframe(shown, hide_index=True, width="stretch")

st.subheader("Note hebdomadaire")
if p.can("exporter"):
    st.caption(
        "Un PDF des indicateurs ouverts à votre profil, pour la réunion de service. C'est un export: il est "
        "inscrit au journal, et refusé si une convention interdit l'usage hors de la plateforme."
    )
    try:
        pdf = I.briefing_pdf(cat, p, list(by_id.values()), names) if st.button("Préparer la note (PDF)") else None
    except Forbidden as exc:
        pdf = None
        st.error(str(exc))
    if pdf:
        st.download_button(
            "Télécharger la note (PDF)",
            data=pdf,
            file_name="tranquillite_note_hebdomadaire.pdf",
            mime="application/pdf",
            icon=":material/download:",
            on_click="ignore",
        )
else:
    st.caption("La note hebdomadaire en PDF est réservée aux profils qui peuvent exporter.")
