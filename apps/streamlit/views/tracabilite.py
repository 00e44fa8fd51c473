"""Traçabilité (C5–C8, T4): per convention, where its data are, which models learnt from them, which
files were received, who read its rows and every export, and who is habilitated — from the data.

The logic is `tranquillite.app_core.tracabilite`; the lineage facts are the published table
`governance.convention_lineage`, read through the gateway (a profile sees only the conventions
it holds; the Préfecture's reader only its own convention's report, C7).
"""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import formats as F
from tranquillite.app_core import store
from tranquillite.app_core import tracabilite as T
from tranquillite.app_core.queries import Forbidden

p = app_ui.require(T.PAGE)
st.title("Traçabilité")
st.caption(
    "Pour une convention: ses sources et contrats, chaque table et partition qui contient de ses lignes, "
    "les modèles appris sur ses données, les fichiers reçus, qui a lu ses lignes (quand, sur quelle page, "
    "combien de lignes) et chaque export, et les habilitations ouvertes. Tout est calculé depuis les "
    "données et le journal d'accès, jamais depuis une liste tenue à la main."
)
app_ui.log_view(p, T.PAGE)

choices = T.report_conventions(p)
if not choices:
    st.info("Aucune convention dont le rapport vous soit ouvert.")
    st.stop()
convention = st.selectbox("Convention", choices, key="trace_convention", format_func=T.convention_title)
app_ui.log_choices(p, T.PAGE, {"convention": T.convention_title(convention)})

cat = app_ui.catalog()
try:
    with st.spinner("Recherche des données de la convention…"), store.connect() as con:
        rep = T.report(cat, con, p, convention)
except Forbidden as exc:
    st.warning(str(exc))
    st.stop()


def show(df: pl.DataFrame, empty: str, key: str, hide: tuple[str, ...] = ()) -> None:
    if df.height == 0:
        st.info(empty)
    else:
        st.dataframe(df.drop([c for c in hide if c in df.columns]), hide_index=True, width="stretch", key=key)


st.subheader("Sources et contrats")
show(rep.contracts, "Aucun contrat de données ne relève de cette convention.", "trace_contrats")

st.subheader("Tables et partitions")
if not rep.lineage_available:
    st.info(
        "La traçabilité des tables n'est pas encore publiée (table « Traçabilité par convention »): "
        "elle l'est à chaque publication du catalogue."
    )
else:
    n_rows = int(rep.tables["Lignes de la convention"].sum() or 0) if rep.tables.height else 0
    st.markdown(
        f"**{F.integer(rep.tables.height)}** table(s) contiennent **{F.integer(n_rows)}** ligne(s) issues de "
        "cette convention."
    )
    show(rep.tables, "Aucune table ne contient de lignes de cette convention.", "trace_tables", hide=("Nom technique",))
    with st.expander(f"Partitions ({rep.partitions.height})"):
        show(
            rep.partitions,
            "Aucune table partitionnée ne contient de ses lignes.",
            "trace_partitions",
            hide=("Nom technique",),
        )

st.subheader("Modèles appris sur ses données")
show(rep.models, "Aucun modèle n'a été appris sur les données de cette convention.", "trace_modeles")

st.subheader("Fichiers reçus")
show(rep.landing, "Aucun fichier reçu sous cette convention.", "trace_fichiers")

st.subheader("Lectures et exports")
reads = rep.reads.with_columns(pl.col("Horodatage").map_elements(app_ui.fmt_ts, return_dtype=pl.Utf8))
exports = reads.filter(pl.col("Export"))
st.markdown(
    f"**{reads.height}** consultation(s), requête(s) ou export(s) ont lu des lignes de cette convention, "
    f"dont **{exports.height}** export(s)."
)
show(reads, "Personne n'a encore lu de lignes de cette convention.", "trace_lectures", hide=("Noms techniques",))

st.subheader("Habilitations ouvertes")
show(rep.habilitations, "Aucun compte actif n'est habilité sur cette convention.", "trace_habilitations")
if rep.requests.height:
    st.markdown("Demandes de la liste nominative en cours d'instruction:")
    show(rep.requests, "", "trace_demandes")

st.subheader("Rapport")
c1, c2 = st.columns(2)
c1.download_button(
    "Rapport (CSV)",
    T.report_csv(rep),
    file_name=f"tracabilite_{convention}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="trace_csv",
    on_click=lambda: app_ui.log_view(
        p,
        T.PAGE,
        {"convention": T.convention_title(convention), "format": "CSV"},
        action="rapport_telecharge",
        export=True,
    ),
)
c2.download_button(
    "Rapport (JSON)",
    T.report_json(rep),
    file_name=f"tracabilite_{convention}.json",
    mime="application/json",
    icon=":material/download:",
    key="trace_json",
    on_click=lambda: app_ui.log_view(
        p,
        T.PAGE,
        {"convention": T.convention_title(convention), "format": "JSON"},
        action="rapport_telecharge",
        export=True,
    ),
)
