"""Destruction des données (C9), for the DPO: what each ended convention still leaves on the
platform (counts only), the destructions done and their signed attestations."""

import json
from pathlib import Path

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import store
from tranquillite.conventions import attestation, destruction, registry
from tranquillite.conventions.lifecycle import fr
from tranquillite.settings import paths

p = app_ui.require("destruction")
st.title("Destruction des données")
st.caption(
    "À la fin d'une convention, ses données ne sont plus montrées à personne dans l'application; elles "
    "restent ici, en effectifs seulement, jusqu'à leur destruction, qui doit intervenir sous 15 jours. "
    "Chaque destruction produit une attestation signée, vérifiable par un contrôle indépendant."
)
app_ui.log_view(p, "destruction")
today = __import__("datetime").date.today()
home = paths().home

with store.connect() as con:
    lcs = registry.lifecycles(con)
    rows = {r["convention"]: r for r in registry.rows(con)}
    purges = [dict(r) for r in con.execute("SELECT * FROM convention_purges ORDER BY id DESC")]
    ended = [c for c, lc in lcs.items() if lc.ended(today)]
    inventories = {c: destruction.inventory(home, c, con) for c in ended if lcs[c].destroyed_on is None}

st.subheader("Conventions terminées")
if not ended:
    st.info("Aucune convention terminée: rien à détruire.")
for code in ended:
    lc = lcs[code]
    with st.container(border=True):
        st.markdown(f"**{code}** — fin le {fr(lc.end())}, destruction au plus tard le {fr(lc.destruction_deadline)}")
        if lc.destroyed_on:
            st.success(f"Données détruites le {fr(lc.destroyed_on)}.")
            continue
        st.markdown(
            f"Destruction ordonnée par: {rows[code].get('destruction_ordered_by') or '— (pas encore ordonnée)'}"
        )
        inv = inventories[code]
        if inv:
            st.dataframe(
                pl.DataFrame(inv).rename(
                    {
                        "magasin": "Magasin",
                        "element": "Élément",
                        "fichiers": "Fichiers",
                        "lignes": "Lignes",
                        "octets": "Octets",
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("Plus aucune donnée de cette convention n'est détectée sur la plateforme.")

st.subheader("Destructions effectuées")
if purges:
    st.dataframe(
        pl.DataFrame(purges)
        .select("id", "convention", "ordered_by", "run_by", "started_at", "finished_at", "status")
        .rename(
            {
                "id": "N°",
                "convention": "Convention",
                "ordered_by": "Ordonnée par",
                "run_by": "Exécutée par",
                "started_at": "Début",
                "finished_at": "Fin",
                "status": "État",
            }
        ),
        hide_index=True,
        width="stretch",
    )
files = sorted((home / "attestations").glob("*.json"), reverse=True) if (home / "attestations").exists() else []
if not files:
    st.caption("Aucune attestation.")
for f in files:
    doc = json.loads(f.read_text(encoding="utf-8"))
    m = doc["manifest"]
    with st.expander(f"Attestation {m['attestation']}"):
        res = m["verification"]["resultat"]
        st.markdown(
            f"Convention `{m['convention']['code']}` — ordonnée par {m['destruction']['ordonnee_par']}, "
            f"exécutée par {m['destruction']['executee_par']} le {m['destruction']['fin'][:10]}; "
            f"contrôle indépendant: **{res['traces_trouvees']} trace(s)** dans {res['fichiers_total']} fichiers."
        )
        st.dataframe(
            pl.DataFrame([{k: str(v) for k, v in it.items()} for it in m["detruit"]]), hide_index=True, width="stretch"
        )
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "Attestation (PDF)",
            Path(f.with_suffix(".pdf")).read_bytes(),
            file_name=f.with_suffix(".pdf").name,
            mime="application/pdf",
            key=f"dl_pdf_{f.stem}",
        )
        c2.download_button(
            "Manifeste signé (JSON)", f.read_bytes(), file_name=f.name, mime="application/json", key=f"dl_json_{f.stem}"
        )
        if c3.button("Vérifier", key=f"verif_{f.stem}"):
            v = attestation.verify(f, home)
            app_ui.log_view(p, "destruction", {"attestation": f.stem}, action="attestation_verifiee")
            (st.success if v.ok else st.error)(
                "Signature valide, clé de la plateforme, contrôle refait: aucune trace."
                if v.ok
                else "Vérification en échec: " + "; ".join(v.problems)
            )
