"""The public events calendar (`evenements_publics`): matches at the Vélodrome, concerts,
festivals, weekly markets, fêtes de quartier, salons and sport events.

The calendar is the city's agenda: it does not scale with `scale`. It covers the span and the
8 weeks after it, because events are published 2 to 8 weeks ahead: every event published during
the span is written, in the file of its publication day (clipped to the span start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np

from tranquillite.synthetic import config as C
from tranquillite.synthetic.gazetteer import Place, place, quartier_streets
from tranquillite.synthetic.timeprofile import PARIS, TimeGrid

LOOKAHEAD_DAYS = 56


@dataclass(frozen=True)
class PlannedEvent:
    """One public event of the calendar."""

    intitule: str
    type_evenement: str
    lieu: str
    place: Place
    start: datetime  # aware, Europe/Paris
    end: datetime
    attendance: int
    published: date
    surge: str | None  # surge kind of config.SURGES, or None
    id: str = ""


def _venues() -> dict[str, Place]:
    return {
        "velodrome": place("Orange Vélodrome", "Boulevard Michelet", "13208", monument="Stade Vélodrome"),
        "dome": place("Le Dôme", "Avenue de Saint-Just", "13204", monument="Le Dôme"),
        "silo": place("Le Silo", "Boulevard Jacques Saadé Quai du Lazaret", "13202", monument="Silo d'Arenc"),
        "espace_julien": place("Espace Julien", "Cours Julien", "13206"),
        "docks": place("Docks des Suds", "Boulevard de Paris", "13202"),
        "moulin": place("Le Moulin", "Boulevard Perrin", "13213"),
        "friche": place("Friche La Belle de Mai", "Rue Jobin", "13203", monument="Friche La Belle-de-Mai"),
        "chanot": place("Parc Chanot", "Rond-Point du Prado", "13208", lonlat=(5.3925, 43.2735)),
        "plages": place("Plages du Prado", "Promenade Georges Pompidou", "13208", lonlat=(5.3729, 43.2620)),
        "borely": place("Parc Borély", "Parc Borély", "13208", monument="Château Borély"),
        "longchamp": place("Palais Longchamp", "Boulevard Philippon", "13204", monument="Palais Longchamp"),
        "vieux_port": place("Vieux-Port", "Quai des Belges", "13201", monument="Ombrière du Vieux-Port"),
        "panier": place("Le Panier", "Place de Lenche", "13202"),
        "plaine": place("La Plaine", "Place Jean Jaurès", "13206"),
        "prado": place("Avenue du Prado", "Avenue du Prado", "13208"),
        "capucins": place("Marché des Capucins", "Rue Longue des Capucins", "13201"),
        "joliette": place("Place de la Joliette", "Place de la Joliette", "13202"),
        "saint_antoine": place("Saint-Antoine", "Avenue de Saint-Antoine", "13215"),
        "omnisports": place("Palais Omnisports", "Boulevard Fernand Bonnefoy", "13210", monument="Palais Omnisports"),
    }


CLUBS = [
    "Olympique Lyonnais",
    "Paris Saint-Germain",
    "AS Monaco",
    "OGC Nice",
    "LOSC Lille",
    "Stade Rennais FC",
    "RC Lens",
    "Stade Brestois 29",
    "FC Nantes",
    "RC Strasbourg Alsace",
    "Toulouse FC",
    "Montpellier HSC",
    "Stade de Reims",
    "AJ Auxerre",
    "Angers SCO",
    "Le Havre AC",
    "AS Saint-Étienne",
    "FC Lorient",
]
EURO_CLUBS = [
    "FC Porto",
    "Ajax Amsterdam",
    "Atalanta Bergame",
    "Villarreal CF",
    "Galatasaray",
    "Sporting CP",
    "Eintracht Francfort",
    "Benfica Lisbonne",
]

#: (label, venue, weekday 0=Mon, start hour, end hour, attendance range)
MARKETS = [
    ("Marché de la Plaine", "plaine", 1, 7, 13, (2500, 5000)),
    ("Marché de la Plaine", "plaine", 5, 7, 14, (3000, 6000)),
    ("Marché du Prado", "prado", 2, 7, 13, (2000, 4000)),
    ("Marché des Capucins", "capucins", 5, 7, 14, (2000, 4500)),
    ("Marché paysan du Cours Julien", "espace_julien", 2, 8, 13, (800, 1500)),
    ("Marché de la Joliette", "joliette", 3, 7, 13, (800, 1800)),
    ("Marché aux poissons du Vieux-Port", "vieux_port", 6, 8, 13, (1000, 2500)),
    ("Marché de Saint-Antoine", "saint_antoine", 4, 7, 13, (600, 1500)),
]

FETE_QUARTIERS = [
    "Belsunce",
    "Noailles",
    "Belle de Mai",
    "Saint-Lazare",
    "La Blancarde",
    "Les Chartreux",
    "Baille",
    "Le Camas",
    "La Conception",
    "Castellane",
    "Lodi",
    "Notre-Dame-du-Mont",
    "Vauban",
    "Endoume",
    "Saint-Victor",
    "Bonneveine",
    "La Pointe Rouge",
    "Mazargues",
    "Sainte-Marguerite",
    "La Capelette",
    "Saint-Loup",
    "La Timone",
    "Saint-Marcel",
    "La Valentine",
    "Saint-Barnabé",
    "Montolivet",
    "Château Gombert",
    "La Rose",
    "Saint-Just",
    "Le Canet",
    "Saint-Barthélemy",
    "Sainte-Marthe",
    "Saint-Louis",
    "La Viste",
    "Les Aygalades",
    "L'Estaque",
    "Saint-Henri",
    "Saint-Antoine",
    "Les Olives",
]


def _at(d: date, h: float) -> datetime:
    hh = int(h)
    return datetime.combine(d, time(hh, int(round((h - hh) * 60)) % 60), tzinfo=PARIS)


def _dates(first: date, last: date):
    d = first
    while d < last:
        yield d
        d += timedelta(days=1)


def build_agenda(grid: TimeGrid, rng: np.random.Generator) -> list[PlannedEvent]:
    """Every event starting in [span start, span end + 8 weeks), published before the span end."""
    V = _venues()
    first, last = grid.start, grid.start + timedelta(days=grid.days + LOOKAHEAD_DAYS)
    out: list[tuple[date, float, str, str, str, Place, float, int, str | None]] = []

    def add(d, h_start, dur_h, intitule, typ, venue: Place, lieu=None, att=(1000, 2000), surge=None):
        a = int(round(rng.uniform(*att) / 50.0) * 50)
        out.append((d, h_start, intitule, typ, lieu or venue.label, venue, dur_h, a, surge))

    # which weekends the OM plays at home alternates; the phase depends on the seed
    phase = int(rng.integers(0, 2))
    for d in _dates(first, last):
        wd, m, md = d.weekday(), d.month, (d.month, d.day)
        in_season = (m >= 8 and md >= (8, 8)) or m <= 4 or (m == 5 and d.day <= 25)
        winter_break = md >= (12, 22) or md <= (1, 5)
        # ---------------------------------------------------------- football
        if in_season and not winter_break:
            week = d.isocalendar()[1]
            if wd == 4 and (week + phase) % 2 == 0:  # decide the match of this weekend on Friday
                day_off = int(rng.choice([0, 1, 2], p=[0.15, 0.45, 0.40]))
                hour = {0: 20.75, 1: float(rng.choice([17.0, 21.0])), 2: float(rng.choice([15.0, 17.25, 20.75]))}[
                    day_off
                ]
                opp = CLUBS[int(rng.integers(len(CLUBS)))]
                add(
                    d + timedelta(days=day_off),
                    hour,
                    2.0,
                    f"Olympique de Marseille – {opp} (Ligue 1)",
                    "Match de football",
                    V["velodrome"],
                    att=(42000, 65000),
                    surge="match",
                )
            europe = (9, 15) <= md <= (12, 15) or (2, 10) <= md <= (3, 20)
            if wd == 2 and europe and rng.random() < 0.3:
                opp = EURO_CLUBS[int(rng.integers(len(EURO_CLUBS)))]
                add(
                    d + timedelta(days=int(rng.choice([0, 1]))),
                    21.0,
                    2.0,
                    f"Olympique de Marseille – {opp} (Coupe d'Europe)",
                    "Match de football",
                    V["velodrome"],
                    att=(45000, 64000),
                    surge="match",
                )
            if wd == 2 and (1, 6) <= md <= (2, 28) and rng.random() < 0.12:
                opp = CLUBS[int(rng.integers(len(CLUBS)))]
                add(
                    d,
                    21.0,
                    2.0,
                    f"Olympique de Marseille – {opp} (Coupe de France)",
                    "Match de football",
                    V["velodrome"],
                    att=(35000, 60000),
                    surge="match",
                )
        # ---------------------------------------------------------- concerts
        summer = m in (7, 8)
        if (6, 1) <= md <= (7, 20) and wd in (4, 5) and rng.random() < 0.3:
            add(
                d,
                21.0,
                2.5,
                str(
                    rng.choice(
                        [
                            "Concert — tournée des stades",
                            "Grand concert pop au Vélodrome",
                            "Concert de rap français",
                            "Concert rock international",
                        ]
                    )
                ),
                "Concert",
                V["velodrome"],
                att=(50000, 65000),
                surge="concert",
            )
        if not summer and rng.random() < (0.12 if wd in (3, 4, 5) else 0.05):
            add(
                d,
                20.0,
                3.0,
                str(
                    rng.choice(
                        [
                            "Concert de variété française",
                            "Spectacle d'humour",
                            "Concert de rap",
                            "Concert symphonique",
                            "Spectacle musical",
                        ]
                    )
                ),
                "Concert",
                V["dome"],
                att=(4000, 8500),
                surge="concert",
            )
        if not summer and rng.random() < (0.08 if wd in (3, 4, 5) else 0.03):
            add(
                d,
                20.5,
                2.5,
                str(
                    rng.choice(
                        ["Concert jazz", "Concert électro", "Concert de chanson française", "Spectacle de danse"]
                    )
                ),
                "Concert",
                V["silo"],
                att=(1000, 2000),
            )
        if wd in (3, 4, 5) and rng.random() < 0.32:
            venue = V[str(rng.choice(["espace_julien", "docks", "moulin", "friche"]))]
            add(
                d,
                20.5,
                3.0,
                str(
                    rng.choice(
                        [
                            "Concert de musiques actuelles",
                            "Soirée électro",
                            "Concert reggae",
                            "Concert de rock",
                            "Scène ouverte hip-hop",
                        ]
                    )
                ),
                "Concert",
                venue,
                att=(400, 1500),
            )
        # ---------------------------------------------------------- fixed-date festivals and big days
        if md == (6, 21):
            add(d, 18.0, 7.0, "Fête de la musique", "Festival", V["vieux_port"], att=(25000, 40000), surge="festival")
        if md == (7, 14):
            add(
                d,
                21.0,
                2.5,
                "Feu d'artifice de la fête nationale",
                "Festival",
                V["vieux_port"],
                att=(60000, 90000),
                surge="festival",
            )
        if m == 7 and d.day <= 7 and wd in (5, 6):
            add(
                d,
                16.0,
                10.0,
                f"Delta Festival — {'samedi' if wd == 5 else 'dimanche'}",
                "Festival",
                V["plages"],
                att=(40000, 55000),
                surge="festival",
            )
        if m == 6 and 12 <= d.day <= 18 and wd in (4, 5):
            add(d, 18.0, 8.0, "Festival Marsatac", "Festival", V["borely"], att=(12000, 18000), surge="festival")
        if m == 10 and 10 <= d.day <= 16 and wd in (4, 5):
            add(d, 19.0, 7.0, "Fiesta des Suds", "Festival", V["docks"], att=(6000, 9000), surge="festival")
        if m == 7 and 18 <= d.day <= 24 and wd in (1, 2, 3, 4, 5):
            add(d, 19.5, 4.0, "Festival Jazz des Cinq Continents", "Festival", V["longchamp"], att=(2500, 3500))
        if m == 6 and 14 <= d.day <= 20 and wd == 5:
            add(d, 10.0, 13.0, "Fête du Panier", "Fête de quartier", V["panier"], att=(6000, 9000), surge="festival")
        if (m == 3 and d.day >= 22 or m == 4 and d.day <= 5) and wd == 5:
            add(
                d,
                14.0,
                4.0,
                "Carnaval de la Plaine",
                "Fête de quartier",
                V["plaine"],
                att=(4000, 7000),
                surge="festival",
            )
        if m == 7 and 1 <= d.day <= 9 and wd in (6, 0, 1, 2, 3) and d.day >= 3:
            add(d, 9.0, 11.0, "Mondial La Marseillaise à pétanque", "Événement sportif", V["borely"], att=(8000, 14000))
        if (m == 3 and d.day >= 25 or m == 4 and d.day <= 7) and wd == 6:
            add(d, 7.5, 6.0, "Marathon de Marseille", "Événement sportif", V["prado"], att=(10000, 15000))
        if m in (1, 2, 3, 4, 5, 10, 11, 12) and wd in (4, 5) and rng.random() < 0.05:
            add(
                d,
                20.0,
                3.0,
                str(rng.choice(["Match de handball", "Gala de boxe", "Tournoi de basket-ball"])),
                "Événement sportif",
                V["omnisports"],
                att=(2000, 5000),
            )
        # ---------------------------------------------------------- salons at Parc Chanot
        foire_start = _last_weekday(date(d.year, 9, 30), 4)
        if foire_start <= d < foire_start + timedelta(days=11):
            add(d, 10.0, 10.0, "Foire internationale de Marseille", "Salon / foire", V["chanot"], att=(12000, 25000))
        elif not summer and wd in (5, 6) and rng.random() < 0.12:
            add(
                d,
                10.0,
                9.0,
                str(
                    rng.choice(
                        [
                            "Salon de l'habitat",
                            "Salon du chiot",
                            "Salon de la gastronomie",
                            "Salon de l'étudiant",
                            "Salon du mariage",
                            "Salon des vins",
                        ]
                    )
                ),
                "Salon / foire",
                V["chanot"],
                att=(3000, 12000),
            )
        # ---------------------------------------------------------- weekly markets
        for label, venue, mwd, h0, h1, att in MARKETS:
            if wd == mwd:
                add(d, float(h0), float(h1 - h0), label, "Marché", V[venue], lieu=V[venue].street, att=att)
        # ---------------------------------------------------------- fêtes de quartier
        p_fete = 0.9 if (5 <= m <= 9 and wd in (5, 6)) else (0.15 if (m == 12 and wd in (5, 6)) else 0.0)
        if p_fete and rng.random() < p_fete:
            for _ in range(int(rng.integers(1, 3))):
                q = FETE_QUARTIERS[int(rng.integers(len(FETE_QUARTIERS)))]
                pl_ = _quartier_place(q, rng)
                if pl_ is not None:
                    add(d, 14.0, 8.0, f"Fête de quartier — {q}", "Fête de quartier", pl_, lieu=q, att=(200, 2000))

    events = []
    for d, h, intitule, typ, lieu, venue, dur, att, surge in out:
        start = _at(d, h)
        end = (start.astimezone(timezone.utc) + timedelta(hours=dur)).astimezone(PARIS)
        pub = d - timedelta(days=int(rng.integers(14, 57)))
        pub = max(pub, grid.start)
        if pub >= grid.start + timedelta(days=grid.days):
            continue
        events.append(PlannedEvent(intitule, typ, lieu, venue, start, end, att, pub, surge))
    events.sort(key=lambda e: (e.start, e.intitule, e.lieu))
    seq: dict[int, int] = {}
    final = []
    for e in events:
        seq[e.start.year] = seq.get(e.start.year, 0) + 1
        final.append(PlannedEvent(**{**e.__dict__, "id": f"EVT-{e.start.year}-{seq[e.start.year]:04d}"}))
    return final


def _last_weekday(d: date, weekday: int) -> date:
    while d.weekday() != weekday:
        d -= timedelta(days=1)
    return d


_QUARTIER_CACHE: dict[str, list[tuple[str, str, float, float]]] = {}


def _quartier_place(quartier: str, rng: np.random.Generator) -> Place | None:
    if quartier not in _QUARTIER_CACHE:
        s = quartier_streets([quartier])
        _QUARTIER_CACHE[quartier] = list(zip(s["name"], s["arrondissement_insee"], s["lon"], s["lat"]))
    rows = _QUARTIER_CACHE[quartier]
    if not rows:
        return None
    name, insee, lon, lat = rows[int(rng.integers(len(rows)))]
    return Place(quartier, name, insee, float(lon), float(lat))


def surge_factor(kind: str, attendance: int) -> float:
    """k of a surge: kappa × ln(attendance / attendance_ref), never negative."""
    p = C.SURGES[kind]
    return max(0.0, p["kappa"] * float(np.log(max(attendance, 1) / p["attendance_ref"])))
