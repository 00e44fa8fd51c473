"""Qualité des données (T8): per source, records counted, clean, quarantined and why; files dropped,
changed after ingestion, or without a valid day — counts only."""

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import fiches
from tranquillite.app_core.queries import NotAvailable, scoped_query

p = app_ui.require("qualite")
st.title("Qualité des données")
app_ui.log_view(p, "qualite")
cat = app_ui.catalog()

LABELS = {
    "source": "Source",
    "partitions": "Jours",
    "read": "Comptés dans les fichiers",
    "clean": "Valides",
    "quarantined": "En quarantaine",
    "duplicates": "Doublons exacts",
    "unbalanced_partitions": "Jours non équilibrés",
    "reason": "Motif",
    "records": "Enregistrements",
    "files": "Fichiers",
    "changed_files": "Fichiers modifiés après ingestion",
    "rows_added": "Enregistrements ajoutés",
    "rows_removed": "Enregistrements retirés",
    "rows_modified": "Enregistrements modifiés",
    "unassigned_files": "Fichiers sans jour d'export valide",
}
BALANCE = ["source", "partitions", "read", "clean", "quarantined", "duplicates", "unbalanced_partitions"]
FILES = ["source", "files", "changed_files", "rows_added", "rows_removed", "rows_modified", "unassigned_files"]


def show(df, columns: list[str]) -> None:
    df = df.select([c for c in columns if c in df.columns]) if columns else df
    st.dataframe(df.rename({k: v for k, v in LABELS.items() if k in df.columns}), hide_index=True, width="stretch")


try:
    with st.spinner("Chargement du bilan des sources…"):
        dq = scoped_query(cat, p.scope, "governance.data_quality", select="*", order_by="1")
except NotAvailable:
    dq = None
    st.subheader("Bilan par source")
    st.info("Pas encore disponible (`governance.data_quality`).")
if dq is not None:
    st.subheader("Bilan par source")
    st.caption(
        "Enregistrements comptés dans les fichiers déposés par un compteur indépendant du lecteur: "
        "chaque jour, comptés = valides + en quarantaine + doublons exacts."
    )
    show(dq, BALANCE)
    if "changed_files" in dq.columns:
        st.subheader("Fichiers déposés")
        show(dq, FILES)
        changed = int(dq.get_column("changed_files").sum() or 0)
        unassigned = int(dq.get_column("unassigned_files").sum() or 0)
        if changed:
            st.warning(
                f"{changed} fichier(s) modifié(s) après leur ingestion: la nouvelle version a remplacé "
                f"l'ancienne ({int(dq.get_column('rows_added').sum())} enregistrement(s) ajouté(s), "
                f"{int(dq.get_column('rows_removed').sum())} retiré(s), "
                f"{int(dq.get_column('rows_modified').sum())} modifié(s)). Chaque version reste "
                "tracée par l'équipe données."
            )
        if unassigned:
            st.warning(
                f"{unassigned} fichier(s) déposé(s) sans jour d'export valide (date absente, impossible "
                "ou hors période): ils ne sont pas ingérés tant que leur nom n'est pas corrigé."
            )


# ----------------------------------------------------------------------------- data sheets (T8)
@app_ui.cached_read(show_spinner=False, ttl=600, max_entries=8)
def sheet_measures(_cat, catalog_version: int, scope) -> dict:
    return fiches.measure(_cat, scope)


st.subheader("Fiche de chaque source")
st.caption("Ce que le contrat de données déclare, et ce que la plateforme a mesuré sur les données reçues.")
contracts = fiches.contracts_in_scope(p.scope)
if not contracts:
    st.info("Aucune source dans votre périmètre.")
else:
    with st.spinner("Mesure des sources…"):
        measures = app_ui.read_or_explain(
            sheet_measures,
            cat,
            cat.version,
            p.scope,
            missing="Pas encore de données publiées pour mesurer les sources.",
        )
    by_name = {c.name: c for c in contracts}
    chosen = st.selectbox("Source", list(by_name), format_func=lambda n: by_name[n].title, key="fiche_source")
    if chosen in by_name:
        app_ui.log_choices(p, "qualite", {"fiche": by_name[chosen].title})
        f1, f2 = st.columns(2)
        with f1:
            st.markdown("**Déclaré dans le contrat**")
            st.dataframe(
                pl.DataFrame([{"Rubrique": k, "Contenu": v} for k, v in fiches.stated(by_name[chosen]).items()]),
                hide_index=True,
                width="stretch",
                key="fiche_declare",
            )
        with f2:
            st.markdown("**Mesuré par la plateforme**")
            if measures is not None and chosen in measures:
                st.dataframe(
                    pl.DataFrame([{"Mesure": k, "Valeur": v} for k, v in fiches.measured(measures[chosen]).items()]),
                    hide_index=True,
                    width="stretch",
                    key="fiche_mesure",
                )
            else:
                st.info("Pas de mesure pour cette source.")

st.subheader("Motifs de mise en quarantaine")
try:
    show(scoped_query(cat, p.scope, "governance.quarantine_reasons", select="*", order_by="1"), [])
except NotAvailable:
    st.info("Pas encore disponible (`governance.quarantine_reasons`).")
st.caption(
    "Seuls des effectifs sont montrés ici: le contenu des enregistrements en quarantaine et les noms "
    "des fichiers restent dans l'entrepôt, hors de l'application."
)
