"""Saisie Cortège (C3): forms generated from the Préfecture's data contracts; saves = new versions."""

import json

import polars as pl
import streamlit as st

import app_ui
from tranquillite.app_core import cortege as C
from tranquillite.app_core import deck, store
from tranquillite.app_core.queries import Forbidden, NotAvailable, scoped_query
from tranquillite.contracts import Field

p = app_ui.require("cortege")
st.title("Cortège — saisie des événements de la Préfecture")
st.caption(
    "Manifestations, opérations programmées et visites officielles (convention Ville – Préfecture de "
    "Police, Annexe I). Aucune donnée personnelle: ni nom, ni téléphone, ni courriel, ni plaque. "
    "Chaque enregistrement crée une nouvelle version, transmise automatiquement à la plateforme."
)
app_ui.log_view(p, "cortege")
can_enter = p.can("saisir")
types = C.record_types()
landing_root = app_ui.landing_root()


def wkey(record_type: str, name: str, part: str = "") -> str:
    return f"ctg_{record_type}_{name}{part}"


def clear_form(keep_mode: bool = True) -> None:
    for k in [k for k in st.session_state if str(k).startswith("ctg_") and not (keep_mode and k == "ctg_mode")]:
        del st.session_state[k]


if st.session_state.pop("tq_cortege_reset", False):  # after a save: a blank new entry
    clear_form(keep_mode=False)


def prefill(entry: dict) -> None:
    """Put a saved entry's values in the widgets (amendment)."""
    rt = entry["type"]
    values = C.values_from_entry(entry)
    for f in C.form_fields(rt):
        v = values.get(f.name)
        if f.type == "datetime":
            st.session_state[wkey(rt, f.name, "_date")], st.session_state[wkey(rt, f.name, "_heure")] = v
        elif f.type == "geometry":
            st.session_state[wkey(rt, f.name, "_mode")] = "geojson" if v else "adresses"
            st.session_state[wkey(rt, f.name, "_geojson")] = v or ""
        else:
            st.session_state[wkey(rt, f.name)] = v if v is not None else (None if f.type in ("integer", "enum") else "")


# ----------------------------------------------------------------------------- my entries
with store.connect() as con:
    mine = C.own_entries(con, p.login)
entries = {m["entry_id"]: m for m in mine}
integrated: dict[str, int] = {}
if mine:
    try:
        df = scoped_query(
            app_ui.catalog(),
            p.scope,
            "clean.events",
            select="record_id, version",
            where="list_contains(?::VARCHAR[], record_id)",
            params=[list(entries)],
        )
        integrated = {r: v for r, v in df.iter_rows()}
    except (NotAvailable, Forbidden):
        integrated = {}

with st.expander(f"Mes entrées ({len(mine)})", expanded=False):
    if not mine:
        st.caption("Aucune entrée enregistrée par vous.")
    else:
        rows = []
        for m in mine:
            try:
                e = C.load_entry(landing_root, m["path"])
            except (C.SaveError, OSError, ValueError):  # a file moved or refused: the registry line still shows
                e = {"objet": "(fichier introuvable)"}
            v_int = integrated.get(m["entry_id"])
            rows.append(
                {
                    "Identifiant": m["entry_id"],
                    "Type": types[m["record_type"]].title,
                    "Version": m["version"],
                    "Objet": e.get("objet"),
                    "Début": e.get("date_debut"),
                    "Enregistrée le": app_ui.fmt_ts(m["saved_at"]),
                    "Sur la plateforme": ("oui (v%d)" % v_int) if v_int else "en attente d'intégration",
                }
            )
        st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")

if not can_enter:
    st.info("Votre profil consulte Cortège sans saisir.")
    st.stop()

# ----------------------------------------------------------------------------- new entry or amendment
mode = st.radio(
    "Action",
    ["nouvelle", "modifier"],
    horizontal=True,
    key="ctg_mode",
    format_func={"nouvelle": "Nouvelle entrée", "modifier": "Modifier une de mes entrées"}.get,
)
amend: dict | None = None
if mode == "modifier":
    if not mine:
        st.info("Vous n'avez pas encore d'entrée à modifier.")
        st.stop()
    chosen = st.selectbox(
        "Entrée à modifier",
        list(entries),
        key="ctg_amend_id",
        format_func=lambda i: f"{i} (v{entries[i]['version']}) — {types[entries[i]['record_type']].title}",
    )
    amend = C.load_entry(landing_root, entries[chosen]["path"])
    loaded = f"{amend['id']}_v{amend['version']}"
    if st.session_state.get("ctg_loaded") != loaded:
        prefill(amend)
        st.session_state["ctg_loaded"] = loaded
    record_type = amend["type"]
    st.caption(
        f"La modification créera la version {entries[chosen]['version'] + 1}; la version "
        f"{entries[chosen]['version']} reste archivée."
    )
else:
    if st.session_state.get("ctg_loaded"):
        clear_form()
    record_type = st.selectbox("Type d'entrée", list(types), format_func=lambda t: types[t].title, key="ctg_type")

contract = types[record_type]
st.subheader(contract.title)
st.caption("Les champs marqués « * » sont obligatoires.")


def required_label(f: Field) -> str:
    return f"{f.label} *" if f.required else f.label


def render(f: Field) -> object:
    """One widget per contract field, chosen by the field's type; the label is the contract's, verbatim,
    followed by « * » when the field is required."""
    k = wkey(record_type, f.name)
    help_ = "Champ obligatoire." if f.required else None
    label = required_label(f)
    if f.type == "text":
        return st.text_area(label, key=k, help=help_, height=68 if f.name == "objet" else 100)
    if f.type == "string":
        return st.text_input(label, key=k, help=help_)
    if f.type == "integer":
        return st.number_input(
            label,
            min_value=int(f.min) if f.min is not None else None,
            value=None,
            step=1,
            format="%d",
            key=k,
            help=help_,
        )
    if f.type == "enum":
        return st.selectbox(label, list(f.values), index=None, placeholder="Choisir…", key=k, help=help_)
    if f.type == "address":
        return st.text_input(label, key=k, help=help_, placeholder="ex. La Canebière, 13001 Marseille")
    if f.type == "address_list":
        return st.text_area(
            label,
            key=k,
            height=100,
            placeholder="Une adresse par ligne, dans l'ordre",
            help=("Champ obligatoire. " if f.required else "") + "Une adresse par ligne, dans l'ordre.",
        )
    if f.type == "datetime":
        a, b = st.columns(2)
        d = a.date_input(label, value=None, format="DD/MM/YYYY", key=wkey(record_type, f.name, "_date"), help=help_)
        t = b.time_input(f"{f.label} (heure)", value=None, step=300, key=wkey(record_type, f.name, "_heure"))
        return C.to_iso(d, t)
    if f.type == "geometry":
        options = {
            "adresses": (
                "Tracé construit depuis les adresses (départ, points de passage, arrivée)"
                if f.geometry_type == "LineString"
                else f"Disque autour de l'adresse (rayon par défaut {int(f.default_radius_m or 50)} m)"
            ),
            "geojson": f"GeoJSON collé ({f.geometry_type})",
        }
        how = st.radio(
            label, list(options), format_func=options.get, key=wkey(record_type, f.name, "_mode"), horizontal=True
        )
        if how == "geojson":
            text = st.text_area(
                f"{f.label} — GeoJSON",
                key=wkey(record_type, f.name, "_geojson"),
                height=120,
                placeholder='{"type": "%s", "coordinates": …}' % f.geometry_type,
            )
            if not text.strip():
                return None
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text  # the validation will say it is not a valid geometry
        if f.geometry_type == "Polygon":
            radius = st.number_input(
                "Rayon de l'emprise (m)",
                min_value=5,
                max_value=2000,
                step=5,
                value=int(f.default_radius_m or 50),
                key=wkey(record_type, f.name, "_rayon"),
            )
            return {"_rayon": radius}
        return None
    return st.text_input(label, key=k, help=help_)


values: dict = {}
geometry_field = next((f for f in contract.fields if f.type == "geometry"), None)
for f in contract.fields:
    values[f.name] = render(f)

# addresses typed so far, in order (départ, points de passage, arrivée / adresses)
addr_fields = [f for f in contract.fields if f.type in ("address", "address_list")]
addresses: list[str] = []
for f in addr_fields:
    v = values.get(f.name)
    addresses += C.address_lines(v) if f.type == "address_list" else ([v.strip()] if v and v.strip() else [])
geocoded = C.geocode_preview(addresses)
found = [(g["lon"], g["lat"]) for g in geocoded if g["lon"] is not None]

# a radius other than the contract's default becomes an explicit footprint polygon
if (
    geometry_field is not None
    and isinstance(values.get(geometry_field.name), dict)
    and "_rayon" in values[geometry_field.name]
):
    radius = values[geometry_field.name]["_rayon"]
    values[geometry_field.name] = None
    if radius != (geometry_field.default_radius_m or 50) and found:
        values[geometry_field.name] = C.disc_geojson(found[0][0], found[0][1], radius)

# ----------------------------------------------------------------------------- preview
with st.container(border=True):
    st.markdown("**Aperçu de la localisation** (géocodage hors ligne sur le référentiel des voies de Marseille)")
    if geocoded:
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "Adresse saisie": g["address"],
                        "Voie reconnue": g["matched_name"] or "introuvable",
                        "Précision": g["precision"] or "—",
                    }
                    for g in geocoded
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    shape = values.get(geometry_field.name) if geometry_field else None
    if not isinstance(shape, dict):
        shape = None
        if geometry_field is not None and geometry_field.geometry_type == "LineString" and len(found) >= 2:
            shape = {"type": "LineString", "coordinates": [list(x) for x in found]}
        elif geometry_field is not None and geometry_field.geometry_type == "Polygon" and found:
            shape = C.disc_geojson(found[0][0], found[0][1], geometry_field.default_radius_m or 50)
    if shape or found:
        st.pydeck_chart(deck.preview_deck(shape, found), height=360, key="ctg_apercu")
    else:
        st.caption("Saisissez une adresse pour voir l'aperçu.")

# ----------------------------------------------------------------------------- verify / save
b1, b2, _ = st.columns([1, 1, 4])
verify = b1.button("Vérifier", key="ctg_verifier")
save = b2.button("Enregistrer", type="primary", key="ctg_enregistrer")
if verify or save:
    with store.connect() as con:
        if amend:
            entry_id, version = amend["id"], C.next_version(con, landing_root, amend["id"])
        else:
            entry_id, version = C.next_entry_id(con, landing_root), 1
    entry = C.build_entry(record_type, values, entry_id, version)
    check = C.check_entry(entry)
    if not check.ok:
        st.error("L'entrée ne peut pas être enregistrée:\n\n" + "\n".join(f"- {m}" for m in check.messages))
        app_ui.log_view(p, "cortege", {"type": record_type}, action="saisie_refusee", detail=";".join(check.reasons))
    elif verify:
        st.success("Entrée valide: elle sera acceptée par la plateforme.")
    else:
        try:
            with store.connect() as con:  # a new entry's id is taken at the save itself (two agents at once)
                path = C.save_entry(con, landing_root, entry, p.login, new=amend is None)
        except C.SaveError as exc:
            st.error(str(exc))
        else:
            entry_id = path.name.rsplit("_v", 1)[0]
            app_ui.log_view(
                p,
                "cortege",
                {"type": record_type, "id": entry_id, "version": version},
                action="saisie_enregistree",
                detail=path.relative_to(landing_root).as_posix(),
            )
            st.session_state["tq_cortege_reset"] = True  # emptied at the next run, before the widgets
            app_ui.flash(
                "success",
                f"Entrée {entry_id} version {version} enregistrée: elle est transmise automatiquement à la plateforme.",
            )
            st.rerun()
