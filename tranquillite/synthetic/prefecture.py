"""Préfecture de Police entries (Cortège): marching and static demonstrations, scheduled
operations and official visits, as the JSON entries of the `cortege` landing source.

A few hundred entries a year: they are built one by one (the only per-record Python loop of the
generator). Marching routes follow sequences of real streets; their `trace_parcours` is a GeoJSON
LineString through the gazetteer's points of those streets. Static footprints (`emprise`) are
30-80 m discs computed in Lambert-93.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

import numpy as np
import shapely

from tranquillite import geo
from tranquillite.contracts import Contract
from tranquillite.synthetic import config as C
from tranquillite.synthetic import texts as T
from tranquillite.synthetic.gazetteer import (
    Place,
    geocodable_streets,
    place,
    quartier_streets,
    street,
    street_points_by_key,
)
from tranquillite.synthetic.space import to_metric, to_wgs84
from tranquillite.synthetic.timeprofile import PARIS, TimeGrid

LOOKAHEAD_DAYS = 14
ROUTE_CORRIDOR_M = 250.0  # a street's points farther than this from the leg are another part of it
ROUTE_STEP_M = 70.0


@dataclass
class Entry:
    """One Préfecture entry, plus what the generator needs to know about it."""

    record_type: str
    saisi_le: datetime
    start: datetime
    end: datetime
    fields: dict[str, Any]
    attendance: int | None = None  # true attendance (for surges)
    line: np.ndarray | None = None  # (n, 2) lon/lat of the route (marching)
    point: tuple[float, float] | None = None  # static demonstrations
    id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.record_type, "version": 1, "saisi_le": iso(self.saisi_le), **self.fields}


def iso(dt: datetime) -> str:
    """ISO 8601 with the Europe/Paris offset of the instant (normalised through UTC, so that a
    wall-clock time computed across a DST change is written as an existing local time)."""
    return dt.astimezone(timezone.utc).astimezone(PARIS).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- places
@lru_cache(maxsize=1)
def static_places() -> list[tuple[Place, float]]:
    return [
        (
            place(
                "Préfecture des Bouches-du-Rhône",
                "Place Félix Baret",
                "13206",
                monument="Préfecture des Bouches-du-Rhône",
            ),
            0.30,
        ),
        (place("Hôtel de Ville", "Place Villeneuve - Bargemon", "13202", monument="Hôtel de Ville"), 0.15),
        (place("Vieux-Port", "Quai des Belges", "13201", monument="Ombrière du Vieux-Port"), 0.15),
        (place("Place Castellane", "Place Castellane", "13206"), 0.07),
        (place("Hôtel du Département", "Avenue de Saint-Just", "13204", monument="Hôtel du Département"), 0.08),
        (place("Palais de Justice", "Place Monthyon", "13206", monument="Palais de Justice"), 0.07),
        (place("Hôtel de Région", "Place Jules Guesde", "13202", monument="Hôtel de Région"), 0.08),
        (place("Place du Général de Gaulle", "Place du Général de Gaulle", "13201"), 0.05),
        (place("Gare Saint-Charles", "Esplanade Saint-Charles", "13201", monument="Gare Saint-Charles"), 0.05),
    ]


@lru_cache(maxsize=1)
def visit_places() -> list[Place]:
    return [
        place(
            "Préfecture des Bouches-du-Rhône", "Place Félix Baret", "13206", monument="Préfecture des Bouches-du-Rhône"
        ),
        place("Hôtel de Ville", "Place Villeneuve - Bargemon", "13202", monument="Hôtel de Ville"),
        place("Palais du Pharo", "Boulevard Charles Livon", "13207", monument="Palais du Pharo"),
        place("Mucem", "Promenade Robert Laffont", "13202", monument="Mucem"),
        place("Hôtel de Région", "Place Jules Guesde", "13202", monument="Hôtel de Région"),
    ]


@lru_cache(maxsize=1)
def operation_addresses() -> dict[str, list[str]]:
    """Plausible addresses per operation theme (all geocodable)."""
    s = geocodable_streets()
    metro = s.filter(s["name"].str.starts_with("Métro ")).sort(["name", "arrondissement_insee"])
    metro_addr = [geo.format_address(n, i) for n, i in zip(metro["name"], metro["arrondissement_insee"])]

    def addr(*pairs):
        return [geo.format_address(street(n, i)[0], i) for n, i in pairs]

    codaf = quartier_streets(["Noailles", "Belsunce"])
    qrr = quartier_streets(
        [
            "La Cabucelle",
            "Saint-Mauront",
            "Les Crottes",
            "Saint-Barthélemy",
            "La Rose",
            "Malpassé",
            "La Viste",
            "Saint-Antoine",
            "Verduron",
            "Saint-Louis",
            "Le Canet",
            "Sainte-Marthe",
        ],
        kinds=("voie", "ensemble"),
    )
    return {
        "PSQ Transports": metro_addr + addr(("Esplanade Saint-Charles", "13201"), ("Square Narvik", "13201")) * 3,
        "PSQ QRR": [geo.format_address(n, i) for n, i in zip(qrr["name"], qrr["arrondissement_insee"])],
        "Sécurité Routière": addr(
            ("Avenue du Prado", "13208"),
            ("Corniche du Président John Fitzgerald Kennedy", "13207"),
            ("Boulevard Michelet", "13208"),
            ("Boulevard Michelet", "13209"),
            ("Boulevard Rabatau", "13208"),
            ("Boulevard Jean Moulin", "13205"),
            ("Avenue de Mazargues", "13208"),
            ("Boulevard de Plombières", "13203"),
            ("Boulevard National", "13203"),
            ("Boulevard Sakakini", "13205"),
            ("Avenue de Toulon", "13206"),
            ("Boulevard Mireille Lauze", "13210"),
            ("Avenue du Maréchal Foch", "13204"),
            ("Chemin du Littoral", "13216"),
            ("Boulevard Françoise Duparc", "13204"),
            ("Avenue de la Capelette", "13210"),
        ),
        "CODAF": [geo.format_address(n, i) for n, i in zip(codaf["name"], codaf["arrondissement_insee"])],
        "Marché aux Puces": addr(
            ("Avenue du Cap Pinède", "13215"),
            ("Avenue du Cap Pinède", "13202"),
            ("Chemin de la Madrague Ville", "13215"),
            ("Rue de Lyon", "13215"),
        ),
        "MIN": addr(("MIN Arnavaux", "13214"), ("Avenue des Arnavaux", "13214")),
    }


#: marching routes: sequences of (street, arrondissement); True = may be walked in reverse
ROUTES: list[tuple[list[tuple[str, str]], bool, float]] = [
    (
        [
            ("Quai du Port", "13202"),
            ("Quai des Belges", "13201"),
            ("La Canebière", "13201"),
            ("Square Stalingrad", "13201"),
        ],
        True,
        0.22,
    ),
    (
        [
            ("Place Castellane", "13206"),
            ("Rue de Rome", "13206"),
            ("Rue de Rome", "13201"),
            ("La Canebière", "13201"),
            ("Quai des Belges", "13201"),
        ],
        True,
        0.18,
    ),
    (
        [
            ("Place Jules Guesde", "13203"),
            ("Cours Belsunce", "13201"),
            ("La Canebière", "13201"),
            ("Quai des Belges", "13201"),
        ],
        True,
        0.12,
    ),
    (
        [
            ("Place Jean Jaurès", "13206"),
            ("Rue des Trois Mages", "13206"),
            ("Rue de Rome", "13206"),
            ("Place Félix Baret", "13206"),
        ],
        False,
        0.12,
    ),
    (
        [
            ("Esplanade Saint-Charles", "13201"),
            ("Boulevard d'Athènes", "13201"),
            ("La Canebière", "13201"),
            ("Quai des Belges", "13201"),
        ],
        True,
        0.10,
    ),
    ([("Quai des Belges", "13202"), ("Rue de la République", "13202"), ("Place de la Joliette", "13202")], True, 0.08),
    (
        [
            ("Place Castellane", "13206"),
            ("Avenue du Prado", "13206"),
            ("Avenue du Prado", "13208"),
            ("Rond-Point du Prado", "13208"),
        ],
        True,
        0.06,
    ),
    (
        [
            ("Place Sébastopol", "13204"),
            ("Boulevard de la Libération - Général de Monsabert", "13204"),
            ("Boulevard de la Libération - Général de Monsabert", "13201"),
            ("La Canebière", "13201"),
            ("Quai des Belges", "13201"),
        ],
        False,
        0.07,
    ),
    (
        [
            ("Place Jules Guesde", "13202"),
            ("Rue de la République", "13202"),
            ("Quai du Port", "13202"),
            ("Place Villeneuve - Bargemon", "13202"),
        ],
        False,
        0.05,
    ),
]


@lru_cache(maxsize=32)
def route_line(route_idx: int, reverse: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """The route's trace (n x 2 lon/lat through the streets' gazetteer points) and its addresses."""
    streets_ = list(ROUTES[route_idx][0])
    if reverse:
        streets_ = streets_[::-1]
    pts = street_points_by_key()
    groups = []
    for name, insee in streets_:
        display, lon, lat = street(name, insee)
        g = pts.get((geo.normalize_name(display), insee))
        groups.append(np.asarray(g if g is not None else [[lon, lat]], dtype="float64"))
    gx = [np.column_stack(to_metric(g[:, 0], g[:, 1])) for g in groups]
    cent = [g.mean(axis=0) for g in gx]
    line: list[np.ndarray] = []
    for i, g in enumerate(gx):
        if i == 0:
            origin, target = cent[0], cent[1]
        elif i < len(gx) - 1:
            origin, target = line[-1], cent[i + 1]
        else:
            origin, target = line[-1], cent[i]
        d = target - origin
        L = float(np.sqrt(d @ d))
        if i == len(gx) - 1 or L < 1.0:
            dist = np.hypot(*(g - origin).T)
            line.extend(g[np.argsort(dist, kind="stable")][: max(1, min(len(g), 3))])
            continue
        u = d / L
        t = (g - origin) @ u  # metres along the leg
        lateral = np.abs((g - origin) @ np.array([-u[1], u[0]]))
        keep = lateral <= ROUTE_CORRIDOR_M
        if i > 0:
            keep &= (t >= 0.0) & (t <= L)
        if not keep.any():
            keep = np.zeros(len(g), dtype=bool)
            keep[np.argmin(lateral + np.abs(t - L / 2))] = True
        order = np.flatnonzero(keep)[np.argsort(t[keep], kind="stable")]
        last_t = -np.inf
        for j in order:  # thin out: one point every ROUTE_STEP_M along the leg
            if t[j] - last_t >= ROUTE_STEP_M:
                line.append(g[j])
                last_t = t[j]
    arr = np.array(line)
    lon, lat = to_wgs84(arr[:, 0], arr[:, 1])
    coords = np.round(np.column_stack([lon, lat]), 6)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.diff(coords, axis=0) != 0, axis=1)
    coords = coords[keep]
    addresses = tuple(geo.format_address(street(n, i)[0], i) for n, i in streets_)
    # collapse repeated consecutive addresses (a street crossing two arrondissements stays two)
    return coords, addresses


def emprise(lon: float, lat: float, radius_m: float) -> dict:
    """GeoJSON Polygon: a disc of `radius_m` around a point, computed in Lambert-93, clipped to
    the commune (a few metres inside its outline, e.g. on the quays of the Vieux-Port)."""
    area = geo.marseille()
    for r in (radius_m, radius_m * 0.6, 20.0):
        x, y = to_metric([lon], [lat])
        ang = np.linspace(0.0, 2.0 * np.pi, 25)[:-1]
        px, py = x[0] + r * np.cos(ang), y[0] + r * np.sin(ang)
        plon, plat = to_wgs84(px, py)
        poly = shapely.Polygon(np.column_stack([plon, plat]))
        if not area.contains(plon, plat).all():
            clipped = poly.intersection(_inner_outline())
            parts = getattr(clipped, "geoms", [clipped])
            best = max(parts, key=lambda g: g.area if g.geom_type == "Polygon" else 0.0)
            if best.is_empty or best.geom_type != "Polygon":
                continue
            poly = shapely.orient_polygons(best.simplify(0.000005))
        coords = np.round(np.asarray(poly.exterior.coords), 6)
        if area.contains(coords[:, 0], coords[:, 1]).all() and len(coords) >= 4:
            return {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in coords]]}
    raise ValueError(f"cannot build a footprint inside the commune at {lon}, {lat}")


@lru_cache(maxsize=1)
def _inner_outline():
    """The commune outline shrunk by ~3 m, so that clipped footprints stay strictly inside."""
    inner = geo.marseille().outline.buffer(-0.00003)
    shapely.prepare(inner)
    return inner


def linestring(coords: np.ndarray) -> dict:
    return {"type": "LineString", "coordinates": [[float(a), float(b)] for a, b in coords]}


# --------------------------------------------------------------------------- generation
def _at(d: date, h: float) -> datetime:
    hh = int(h)
    return datetime.combine(d, time(hh, int(round((h - hh) * 60)) % 60), tzinfo=PARIS)


def _round_people(x: float) -> int:
    step = 10 if x < 1000 else 100 if x < 20000 else 1000
    return int(max(step, round(x / step) * step))


def _counts(rng, attendance: int, motorised: bool) -> dict[str, int | None]:
    att = attendance if rng.random() < 0.85 else None
    decl = _round_people(attendance * rng.uniform(0.5, 1.4)) if rng.random() < 0.55 else None
    if motorised:
        cars = int(rng.integers(40, 400))
        v_att = cars if rng.random() < 0.9 else None
        v_decl = int(cars * rng.uniform(0.6, 1.2)) if rng.random() < 0.6 else None
    else:
        cars = int(rng.integers(0, 5))
        v_att = cars if rng.random() < 0.35 else None
        v_decl = int(rng.integers(0, 5)) if rng.random() < 0.2 else None
    return {
        "nombre_personnes_attendues": att,
        "nombre_personnes_declarees": decl,
        "nombre_voitures_attendues": v_att,
        "nombre_voitures_declarees": v_decl,
    }


def build_entries(grid: TimeGrid, contracts: dict[str, Contract], rng: np.random.Generator) -> list[Entry]:
    """Every Préfecture entry for events starting in [span start, span end + 14 days), entered
    (`saisi_le`) 1-14 days before the event, clipped to the span start, and before the span end."""
    first = grid.start
    last = grid.start + timedelta(days=grid.days + LOOKAHEAD_DAYS)
    entries: list[Entry] = []
    big_days = _mobilisation_days(first, last, rng)
    d = first
    while d < last:
        wd, m = d.weekday(), d.month
        month_f = {7: 0.6, 8: 0.3, 12: 0.7}.get(m, 1.1)
        # ------------------------------------------------ marching demonstrations
        rate = C.PREFECTURE_PER_YEAR["manifestation_deambulatoire"] / 365.0
        rate *= [0.8, 1.4, 1.0, 1.4, 0.7, 1.5, 0.3][wd] / 1.014 * month_f
        n = int(rng.poisson(rate))
        specials = []
        if d in big_days:
            specials.append((str(rng.choice(T.BIG_DAY_OBJETS)), "Syndicat", int(rng.integers(8000, 60000))))
        if (m, d.day) == (5, 1):
            specials.append((T.MAY_DAY_OBJET, "Syndicat", int(rng.integers(8000, 25000))))
        if m == 7 and d.day <= 7 and wd == 5:
            specials.append((T.PRIDE_OBJET, "association", int(rng.integers(15000, 30000))))
        for objet, statut, att in specials:
            entries.append(_marching(d, rng, objet, statut, att, big=True))
        for _ in range(n):
            statut = str(rng.choice(["Syndicat", "association", "Parti Politique", "Autres"], p=[0.4, 0.35, 0.1, 0.15]))
            objet = str(rng.choice(T.DEMO_OBJETS[statut]))
            att = int(np.clip(rng.lognormal(np.log(400), 1.0), 30, 8000))
            entries.append(_marching(d, rng, objet, statut, att, big=False))
        # ------------------------------------------------ static demonstrations
        rate = C.PREFECTURE_PER_YEAR["manifestation_statique"] / 365.0
        rate *= [1.2, 1.25, 1.2, 1.25, 1.1, 0.7, 0.3][wd] / 1.0 * month_f
        for _ in range(int(rng.poisson(rate))):
            entries.append(_static(d, rng))
        # ------------------------------------------------ scheduled operations
        for theme, per_year, days_ok in (
            ("PSQ Transports", 225, range(7)),
            ("PSQ QRR", 200, range(7)),
            ("Sécurité Routière", 200, range(7)),
            ("CODAF", 125, range(5)),
            ("Marché aux Puces", 90, (5, 6)),
            ("MIN", 60, range(6)),
        ):
            if wd not in days_ok:
                continue
            rate = per_year / 365.0 * 7.0 / len(days_ok)
            for _ in range(int(rng.poisson(rate))):
                entries.append(_operation(d, theme, rng))
        # ------------------------------------------------ official visits
        rate = C.PREFECTURE_PER_YEAR["visite_officielle"] / 365.0 * (1.3 if wd < 5 else 0.25)
        for _ in range(int(rng.poisson(rate))):
            entries.append(_visit(d, rng))
        d += timedelta(days=1)

    span_start = datetime.combine(grid.start, time(0), tzinfo=PARIS)
    span_end = datetime.combine(grid.start + timedelta(days=grid.days), time(0), tzinfo=PARIS)
    kept = []
    for e in entries:
        lead = timedelta(days=float(rng.uniform(1.0, 14.0)))
        s = e.start - lead
        s = s.replace(hour=int(rng.integers(8, 19)), minute=int(rng.integers(0, 60)), second=0)
        if s >= e.start:
            s = e.start - timedelta(hours=1)
        if s < span_start:
            s = span_start + timedelta(minutes=int(rng.integers(8 * 60, 10 * 60)))
            if s >= e.start:
                s = span_start
        if s >= span_end:
            continue
        e.saisi_le = s
        kept.append(e)
    kept.sort(key=lambda e: (e.saisi_le, e.record_type, e.start, e.fields.get("objet", "")))
    seq: dict[int, int] = {}
    for e in kept:
        y = e.saisi_le.year
        seq[y] = seq.get(y, 0) + 1
        e.id = f"PP-{y}-{seq[y]:06d}"
        # contract field order; optional keys left out stay absent
        e.fields = {f.name: e.fields[f.name] for f in contracts[e.record_type].fields if f.name in e.fields}
    return kept


def _mobilisation_days(first: date, last: date, rng) -> set[date]:
    """~8 national mobilisation days a year (Tuesdays/Thursdays, outside summer and December)."""
    out = set()
    d = first
    while d < last:
        if d.weekday() in (1, 3) and d.month not in (7, 8, 12) and rng.random() < 8 / 80:
            out.add(d)
        d += timedelta(days=1)
    return out


def _marching(d: date, rng, objet: str, statut: str, attendance: int, big: bool) -> Entry:
    weights = np.array([r[2] for r in ROUTES])
    if big:
        ridx = int(rng.choice([0, 1, 2, 7]))
    else:
        ridx = int(rng.choice(len(ROUTES), p=weights / weights.sum()))
    reverse = bool(ROUTES[ridx][1] and rng.random() < 0.3)
    coords, addresses = route_line(ridx, reverse)
    hour = (
        float(rng.choice([14.0, 14.5, 15.0]))
        if d.weekday() >= 5
        else float(rng.choice([10.0, 10.5, 11.0, 14.0, 17.5, 18.0]))
    )
    dur = float(rng.uniform(3.0, 5.0) if big else rng.uniform(1.5, 3.5))
    start = _at(d, hour)
    end = start + timedelta(minutes=int(round(dur * 4)) * 15)
    motor = objet in T.MOTORISED_OBJETS
    fields: dict[str, Any] = {
        "objet": objet,
        "description_observations": str(rng.choice(T.DEMO_DESCRIPTIONS)) if rng.random() < 0.6 else None,
        "adresse_depart": addresses[0],
        "adresses_points_passage": list(addresses[1:-1]),
        "adresse_arrivee": addresses[-1],
        "date_debut": iso(start),
        "date_fin": iso(end),
        **_counts(rng, _round_people(attendance), motor),
        "statut_organisateur": statut,
    }
    if big:
        fields["nombre_personnes_attendues"] = _round_people(attendance)
    if rng.random() < 0.85:
        fields["trace_parcours"] = linestring(coords)
    return Entry(
        "manifestation_deambulatoire",
        start,
        start,
        end,
        fields,
        attendance=attendance,
        line=coords,
        meta={"route": ridx, "reverse": reverse},
    )


def _static(d: date, rng) -> Entry:
    places_ = static_places()
    w = np.array([p[1] for p in places_])
    pl_ = places_[int(rng.choice(len(places_), p=w / w.sum()))][0]
    statut = str(rng.choice(["Syndicat", "association", "Parti Politique", "Autres"], p=[0.35, 0.4, 0.1, 0.15]))
    attendance = int(np.clip(rng.lognormal(np.log(80), 0.9), 10, 3000))
    start = _at(d, float(rng.choice([10.0, 11.0, 12.0, 12.5, 14.0, 17.0, 17.5, 18.0, 18.5])))
    end = start + timedelta(minutes=int(rng.integers(4, 13)) * 15)
    fields: dict[str, Any] = {
        "objet": str(rng.choice(T.STATIC_OBJETS[statut])),
        "description_observations": str(rng.choice(T.STATIC_DESCRIPTIONS)) if rng.random() < 0.5 else None,
        "adresse": pl_.address,
        "date_debut": iso(start),
        "date_fin": iso(end),
        **_counts(rng, _round_people(attendance), False),
        "statut_organisateur": statut,
    }
    if rng.random() < 0.8:
        fields["emprise"] = emprise(pl_.lon, pl_.lat, float(rng.uniform(30.0, 80.0)))
    return Entry(
        "manifestation_statique",
        start,
        start,
        end,
        fields,
        attendance=attendance,
        point=(pl_.lon, pl_.lat),
        meta={"place": pl_.label},
    )


_OP_SCHEDULE = {  # theme -> (start hours, duration range h)
    "PSQ Transports": ([7.0, 7.5, 16.5, 17.0], (2.0, 4.0)),
    "PSQ QRR": ([14.0, 15.0, 16.0, 17.0, 18.0], (4.0, 6.0)),
    "Sécurité Routière": ([8.0, 14.0, 21.0, 22.0], (3.0, 4.0)),
    "CODAF": ([9.5, 10.0, 14.0], (2.0, 4.0)),
    "Marché aux Puces": ([7.0, 8.0], (5.0, 6.0)),
    "MIN": ([4.0, 4.5, 5.0], (3.0, 4.0)),
}


def _operation(d: date, theme: str, rng) -> Entry:
    pool = operation_addresses()[theme]
    k = int(rng.integers(1, 4))
    idx = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    addresses = sorted({pool[int(i)] for i in idx})
    hours, (dmin, dmax) = _OP_SCHEDULE[theme]
    start = _at(d, float(rng.choice(hours)))
    end = start + timedelta(minutes=int(round(rng.uniform(dmin, dmax) * 4)) * 15)
    fields = {
        "objet": str(rng.choice(T.OPERATION_OBJETS[theme])),
        "description_observations": str(rng.choice(T.OPERATION_DESCRIPTIONS)) if rng.random() < 0.4 else None,
        "adresses": addresses,
        "date_debut": iso(start),
        "date_fin": iso(end),
        "theme": theme,
    }
    return Entry("operation_programmee", start, start, end, fields, meta={"theme": theme})


def _visit(d: date, rng) -> Entry:
    pool = visit_places()
    k = int(rng.integers(1, 4))
    idx = sorted(int(i) for i in rng.choice(len(pool), size=k, replace=False))
    start = _at(d, float(rng.choice([9.0, 9.5, 10.0, 11.0, 14.0, 15.0])))
    end = start + timedelta(minutes=int(rng.integers(4, 25)) * 15)
    fields = {
        "objet": str(rng.choice(T.VISIT_OBJETS)),
        "description_observations": str(rng.choice(T.VISIT_DESCRIPTIONS)) if rng.random() < 0.5 else None,
        "adresses": [pool[i].address for i in idx],
        "date_debut": iso(start),
        "date_fin": iso(end),
    }
    return Entry("visite_officielle", start, start, end, fields)
