"""Journal d'accès (T4): who saw what, with which filters, which exports — append-only, hash-chained."""

import json
from datetime import datetime, time, timedelta

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import audit, store, tracabilite
from tranquillite.app_core import formats as F
from tranquillite.app_core import journal as J
from tranquillite.app_core.rights import PAGES
from tranquillite.timezones import PARIS

p = app_ui.require("journal")
st.title("Journal d'accès")
st.caption(
    "Chaque consultation, chaque filtre, chaque export et chaque connexion est ajouté au journal. "
    "Le journal est en ajout seul (aucune modification ni suppression possible), chaîné par "
    "empreintes HMAC-SHA256 (clé hors de la base) et sa tête est publiée toutes les 5 minutes hors "
    "de l'application: modification, suppression, troncature ou rejeu sont détectés."
)

with st.spinner("Vérification de l'intégrité du journal…"), store.connect() as con:
    check = audit.verify(con)
    logins = [r[0] for r in con.execute("SELECT DISTINCT login FROM access_log WHERE login IS NOT NULL ORDER BY 1")]
    profile_labels = dict(con.execute("SELECT code, label FROM profiles ORDER BY rowid").fetchall())
profiles = list(profile_labels)
PAGE_TITLES = {
    **{k: v["title"] for k, v in PAGES.items()},
    "connexion": "Connexion",
    "console": "Console (ligne de commande)",
}
if check.intact:
    st.success(
        f"Intégrité du journal vérifiée ({check.lines} lignes, {check.heads_checked} tête(s) publiée(s) comparée(s))."
    )
else:
    st.error(
        "Journal altéré"
        + (f" à partir de la ligne {check.first_broken}" if check.first_broken else "")
        + ":\n\n"
        + "\n".join(f"- {p}" for p in check.problems[:20])
    )

c1, c2, c3, c4, c5 = st.columns([2, 1.5, 1.5, 1.5, 1])
today = datetime.now(PARIS).date()  # the Paris day (the server may run in UTC)
period = c1.date_input("Période", value=(today - timedelta(days=30), today), format="DD/MM/YYYY", key="j_periode")
login = c2.selectbox("Utilisateur", logins, index=None, placeholder="Tous", key="j_login")
profile = c3.selectbox(
    "Profil", profiles, index=None, placeholder="Tous", key="j_profil", format_func=lambda c: profile_labels.get(c, c)
)
pages = [*PAGES, "connexion", "console"]
page = c4.selectbox(
    "Page", pages, index=None, placeholder="Toutes", key="j_page", format_func=lambda c: PAGE_TITLES.get(c, c)
)
exports = c5.checkbox("Exports seulement", key="j_exports")

since = until = None
if isinstance(period, tuple) and len(period) == 2:
    since = store.iso(datetime.combine(period[0], time(0), tzinfo=PARIS))
    until = store.iso(datetime.combine(period[1] + timedelta(days=1), time(0), tzinfo=PARIS))
app_ui.log_view(
    p,
    "journal",
    {
        "du": str(period[0]) if since else None,
        "au": str(period[1]) if since else None,
        "utilisateur": login,
        "profil": profile,
        "page": page,
        "exports": exports,
    },
)
with store.connect() as con:
    rows = store.access_log(
        con, since=since, until=until, login=login, profile=profile, page=page, exports_only=exports
    )
if not rows:
    st.info("Aucune ligne pour ces filtres.")
    st.stop()


def read_text(value: str | None) -> str:
    """« Événements unifiés (données propres): 34 lignes — conventions: … » for the `reads` field."""
    if not value:
        return ""
    try:
        items = json.loads(value)
    except ValueError:
        return value
    return " ; ".join(
        f"{tracabilite.table_label(r.get('table'))}: {F.integer(r.get('rows'))} ligne(s) — "
        + ", ".join(tracabilite.convention_title(c) for c in r.get("conventions", []))
        for r in items
        if isinstance(r, dict)
    )


NAMES = {
    **J.value_labels(),
    **profile_labels,
    **{c: tracabilite.convention_title(c) for c in tracabilite.load_conventions()},
}


def words(col: str, fn) -> pl.Expr:
    return pl.col(col).map_elements(fn, return_dtype=pl.Utf8, skip_nulls=False).fill_null("")


df = pl.DataFrame(rows, infer_schema_length=None).select(
    pl.col("id").alias("N°"),
    words("at", app_ui.fmt_ts).alias("Horodatage (Paris)"),
    pl.col("login").fill_null("(anonyme)").alias("Utilisateur"),
    words("profile", lambda c: profile_labels.get(c, c) if c else "").alias("Profil"),
    words("page", lambda c: PAGE_TITLES.get(c, c) if c else "").alias("Page"),
    words("action", J.action_label).alias("Action"),
    words("filters", lambda t: J.fields(t, NAMES)).alias("Filtres"),
    words("export", lambda e: "oui" if e else "").alias("Export"),
    words("detail", lambda t: J.fields(t, NAMES)).alias("Détail"),
    words("reads", read_text).alias("Lectures (tables, lignes, conventions)"),
)
st.dataframe(df, hide_index=True, width="stretch", height=520)
st.caption(f"{F.integer(df.height)} ligne(s), les plus récentes d'abord (5 000 au plus).")
