"""The one helper that builds each `pydeck.Deck` of the app, and its layers.

Every layer carries `titre`, `quand`, `lieu`, `info` on its objects, so one tooltip fits all.
The basemap is Carto's (set `TRANQUILLITE_FOND_DE_CARTE=aucun` for none, e.g. offline: the
arrondissement outlines still give the context).
"""

from __future__ import annotations

import json

from functools import lru_cache

import pydeck as pdk
import shapely
from shapely.geometry import mapping, shape

from tranquillite.app_core.carte import SOURCE_LABELS, MapData, arrondissement_names
from tranquillite.app_core import formats as F
from tranquillite.app_core.colours import swatch_html
from tranquillite.settings import GEO_DIR, settings

MARSEILLE_VIEW = {"latitude": 43.2965, "longitude": 5.3900, "zoom": 11.3, "pitch": 0}
TOOLTIP = {
    "html": "<b>{titre}</b><br/>{quand}<br/>{lieu}<br/><i>{info}</i>",
    "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px"},
}
# every layer's name, in words: the legends' entries
LAYER_NAMES = {
    "arrondissements": "Contours des arrondissements",
    "faits_points": "Faits (un point par fait, couleur de sa source)",
    "faits_h3": "Faits par hexagone H3",
    "parcours": "Parcours des manifestations déambulatoires",
    "emprises": "Emprises des manifestations statiques",
    "reperes": "Opérations, visites officielles et événements publics (repères cerclés de blanc)",
    "apercu": "Saisie en cours",
}


@lru_cache(maxsize=1)
def arrondissements_geojson() -> dict:
    """Arrondissement outlines (IGN ADMIN EXPRESS), simplified to ~20 m for the browser."""
    doc = json.loads((GEO_DIR / "marseille_arrondissements.geojson").read_text(encoding="utf-8"))
    names = arrondissement_names()
    feats = []
    for f in doc["features"]:
        g = shapely.simplify(shape(f["geometry"]), 0.0002, preserve_topology=True)
        code = f["properties"]["insee_arm"]
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(g),
                "properties": {
                    "code": code,
                    "titre": names.get(code, code),
                    "quand": "",
                    "lieu": f["properties"]["nom"],
                    "info": f"{F.integer(f['properties']['population'])} habitants",
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def arrondissements_layer() -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        id="arrondissements",
        data=arrondissements_geojson(),
        stroked=True,
        filled=False,
        get_line_color=[60, 60, 60, 160],
        line_width_min_pixels=1,
        pickable=False,
    )


MASKED_COLOUR = [170, 170, 170, 110]  # a masked value (« <11 », « secret »): grey, never a colour of the scale


def choropleth_layer(colours: dict[str, list[int]], texts: dict[str, str], when: str) -> pdk.Layer:
    """The arrondissements filled with the colour of their value (`colours`, code → RGBA; missing: masked
    grey), the value's text in the tooltip."""
    base = arrondissements_geojson()
    feats = [
        {
            **f,
            "properties": {
                **f["properties"],
                "couleur": colours.get(f["properties"]["code"], MASKED_COLOUR),
                "quand": when,
                "info": texts.get(f["properties"]["code"], ""),
            },
        }
        for f in base["features"]
    ]
    return pdk.Layer(
        "GeoJsonLayer",
        id="choroplethe",
        data={"type": "FeatureCollection", "features": feats},
        stroked=True,
        filled=True,
        get_fill_color="properties.couleur",
        get_line_color=[60, 60, 60, 200],
        line_width_min_pixels=1,
        pickable=True,
        auto_highlight=True,
    )


def map_layers(d: MapData) -> list[pdk.Layer]:
    layers = [arrondissements_layer()]
    if d.hexagons:
        layers.append(
            pdk.Layer(
                "H3HexagonLayer",
                id="faits_h3",
                data=d.hexagons,
                get_hexagon="h3",
                pickable=True,
                extruded=False,
                filled=True,
                stroked=True,
                get_line_color=[255, 255, 255, 80],
                line_width_min_pixels=0.5,
                get_fill_color="couleur",
                auto_highlight=True,
            )
        )
    if d.points:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id="faits_points",
                data=d.points,
                get_position=["lon", "lat"],
                get_fill_color="couleur",
                get_radius=25,
                radius_min_pixels=2,
                radius_max_pixels=8,
                pickable=True,
                auto_highlight=True,
            )
        )
    if d.footprints:
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                id="emprises",
                data=d.footprints,
                get_polygon="contour",
                get_fill_color="couleur",
                get_line_color=[120, 60, 0, 230],
                line_width_min_pixels=2,
                stroked=True,
                filled=True,
                pickable=True,
                auto_highlight=True,
            )
        )
    if d.routes:
        layers.append(
            pdk.Layer(
                "PathLayer",
                id="parcours",
                data=d.routes,
                get_path="chemin",
                get_color="couleur",
                get_width=12,
                width_min_pixels=4,
                cap_rounded=True,
                joint_rounded=True,
                pickable=True,
                auto_highlight=True,
            )
        )
    if d.markers:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id="reperes",
                data=d.markers,
                get_position=["lon", "lat"],
                get_fill_color="couleur",
                get_line_color=[255, 255, 255, 255],
                stroked=True,
                line_width_min_pixels=2,
                get_radius=60,
                radius_min_pixels=6,
                radius_max_pixels=14,
                pickable=True,
                auto_highlight=True,
            )
        )
    return layers


def map_legend(d: MapData) -> str:
    """The Carte's legend, from what `map_layers(d)` draws: the hexagons' colour scale (the same
    `ColourScale` that coloured them), and for points and planned events one swatch per source
    present in those layers, with the source's colour (the same `couleur` of the drawn objects)
    and its count in the view."""
    lines = []
    if d.hexagons and d.hex_scale is not None:
        lines.append(d.hex_scale.legend_html())
    sections = (
        ("faits_points", d.points, "circle"),
        ("parcours", d.routes, "line"),
        ("emprises", d.footprints, "square"),
        ("reperes", d.markers, "circle"),
    )
    for layer_id, objects, shape_ in sections:
        if not objects:
            continue
        drawn: dict[str, list[int]] = {}
        for o in objects:
            drawn.setdefault(o["source"], o["couleur"])
        swatches = [
            swatch_html(SOURCE_LABELS.get(s, s), c, d.per_source.get(s, 0), shape_)
            for s, c in sorted(
                drawn.items(), key=lambda sc: list(SOURCE_LABELS).index(sc[0]) if sc[0] in SOURCE_LABELS else 99
            )
        ]
        lines.append(f"<div class='tq-legende'><b>{LAYER_NAMES[layer_id]}</b>: " + "".join(swatches) + "</div>")
    lines.append(
        f"<div class='tq-legende'><b>{LAYER_NAMES['arrondissements']}</b> (IGN ADMIN EXPRESS): "
        + swatch_html("limite", [60, 60, 60, 160], shape="line")
        + "</div>"
    )
    return "".join(lines)


def build_deck(layers: list[pdk.Layer], view: dict | None = None, tooltip: dict | bool = True) -> pdk.Deck:
    """THE deck builder: Marseille view, French tooltip, basemap from configuration."""
    v = {**MARSEILLE_VIEW, **(view or {})}
    kwargs = (
        {"map_provider": None, "map_style": None}
        if settings().fond_de_carte == "aucun"
        else {"map_provider": "carto", "map_style": "light"}
    )
    return pdk.Deck(
        layers=layers, initial_view_state=pdk.ViewState(**v), tooltip=TOOLTIP if tooltip is True else tooltip, **kwargs
    )


def _drawable(geometry) -> dict | None:
    """A pasted GeoJSON may be anything: preview it only if it is a valid, non-empty line or polygon."""
    if not isinstance(geometry, dict) or geometry.get("type") not in {"LineString", "Polygon"}:
        return None
    try:
        g = shape(geometry)
    except Exception:  # malformed coordinates: the validation reports it, the preview ignores it
        return None
    return mapping(g) if not g.is_empty and g.is_valid else None


def preview_deck(geometry: dict | None, points: list[tuple[float, float]]) -> pdk.Deck:
    """Cortège form preview: the geometry being entered and its geocoded addresses."""
    geometry = _drawable(geometry)
    layers = [arrondissements_layer()]
    view = dict(MARSEILLE_VIEW)
    color = [204, 121, 167, 230]
    common = {"titre": "Saisie en cours", "quand": "", "lieu": "", "info": ""}
    if geometry and geometry.get("type") == "LineString":
        layers.append(
            pdk.Layer(
                "PathLayer",
                id="apercu",
                data=[{**common, "chemin": geometry["coordinates"]}],
                get_path="chemin",
                get_color=color,
                width_min_pixels=4,
                pickable=True,
            )
        )
    elif geometry and geometry.get("type") == "Polygon":
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                id="apercu",
                data=[{**common, "contour": geometry["coordinates"][0]}],
                get_polygon="contour",
                get_fill_color=[230, 159, 0, 120],
                get_line_color=[120, 60, 0, 230],
                line_width_min_pixels=2,
                pickable=True,
            )
        )
    if points:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id="adresses",
                data=[
                    {**common, "titre": f"Adresse {i + 1}", "lon": lo, "lat": la} for i, (lo, la) in enumerate(points)
                ],
                get_position=["lon", "lat"],
                get_fill_color=[0, 0, 0, 230],
                radius_min_pixels=6,
                pickable=True,
            )
        )
    view.update(fit_view([*points, *_coordinates(geometry)]))
    return build_deck(layers, view)


def _coordinates(geometry: dict | None) -> list[tuple[float, float]]:
    if not geometry:
        return []
    coords = geometry["coordinates"][0] if geometry.get("type") == "Polygon" else geometry.get("coordinates") or []
    return [(float(c[0]), float(c[1])) for c in coords]


def fit_view(points: list[tuple[float, float]], max_zoom: int = 16) -> dict:
    """Centre and zoom so that every point is in the frame (a long route as a single address)."""
    if not points:
        return {}
    if len(set(points)) == 1:
        return {"longitude": points[0][0], "latitude": points[0][1], "zoom": max_zoom}
    v = pdk.data_utils.compute_view([list(p) for p in points], view_proportion=1)
    return {"longitude": v.longitude, "latitude": v.latitude, "zoom": min(int(v.zoom), max_zoom)}
