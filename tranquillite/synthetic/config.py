"""Parameters of the synthetic Marseille: volumes, categories, hotspots, time shapes, surges.

Every number here is an assumption, chosen to be plausible for Marseille (873,076 inhabitants,
~420 municipal police officers, a 24/7 CSU with ~1,600 cameras). The data themselves (category
labels, place names, texts) are French; the code and comments are English.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tranquillite.timezones import PARIS_NAME

GENERATOR_VERSION = "1.1"
TIMEZONE = PARIS_NAME

# --------------------------------------------------------------------------- volumes
#: expected records per year at scale 1 (offspring and surges included).
PER_YEAR = {
    "interventions": 110_000,
    "alertes_videoprotection": 36_000,
    "signalements": 30_000,
}
#: Préfecture entries per year (the planned calendar does not scale, see agenda/prefecture).
PREFECTURE_PER_YEAR = {
    "manifestation_deambulatoire": 420,
    "manifestation_statique": 380,
    "operation_programmee": 900,
    "visite_officielle": 90,
}
N_CAMERAS = 1600
CAMERA_LAYOUT_SEED = 2012  # the CSU opened in 2012: camera layout is infrastructure, not random per run

# --------------------------------------------------------------------------- near-repeat (Hawkes)
#: mean number of direct offspring per event (branching ratio).
ALPHA = {"interventions": 0.30, "alertes_videoprotection": 0.30, "signalements": 0.15}
DELAY_MEAN_H = 6.0
DELAY_MAX_H = 72.0
NEIGHBOUR_RADIUS_M = 300.0
MAX_GENERATION = 6  # generation 0 = background; offspring of generation MAX_GENERATION are not drawn

# --------------------------------------------------------------------------- transient hot spots
#: Hot spots that appear and fade (a Cox component of the background, issue #13): a share of each
#: source's background volume is carried by short-lived "foyers" — a burglary spree in a few
#: streets, a squat, a dealing point that moves, a run of rodéos —, each of one category, a
#: Gaussian bump around a street point whose intensity rises and fades (sin²) over its life.
#: Calibrated with `make bench-calibration` against real data (Toronto 2014–2021): without them
#: the synthetic world was too static (the trailing count came within 7 % of perfect foresight).
TRANSIENT = {
    # share of the background volume, foyers started per year
    "interventions": {"share": 0.30, "per_year": 600},
    "alertes_videoprotection": {"share": 0.30, "per_year": 200},
    "signalements": {"share": 0.30, "per_year": 600},
}
TRANSIENT_LIFE_WEEKS = (2.0, 16.0)  # life uniform on a log scale between these bounds
TRANSIENT_SIGMA_M = (150.0, 350.0)  # spatial spread, uniform on a log scale
TRANSIENT_SIZE_SIGMA = 0.5  # log-normal spread of a foyer's size (expected events per week of life)
TRANSIENT_NEW_PLACES = 0.5  # share of foyers centred by population alone (not at the usual hot spots)
#: strength of the static hot spots (multiplies the hot-spot terms of every category's mix, issue #13:
#: 1.0 put 47 % of the events in the top 5 % of cells, real cities ~33-35 %)
HOTSPOT_STRENGTH = 0.55

# --------------------------------------------------------------------------- spatial hotspots
#: (label, lon, lat, sigma_m, amplitude) grouped by the kind of activity they attract.
HOTSPOTS: dict[str, list[tuple[str, float, float, float, float]]] = {
    "centre_nuit": [
        ("Vieux-Port", 5.3742, 43.2948, 220, 1.0),
        ("Cours Julien", 5.3833, 43.2934, 170, 1.0),
        ("La Plaine", 5.3859, 43.2945, 170, 0.9),
        ("Noailles", 5.3810, 43.2960, 150, 0.8),
        ("Place aux Huiles", 5.3720, 43.2925, 160, 0.6),
        ("La Canebière", 5.3790, 43.2970, 200, 0.6),
    ],
    "centre_jour": [
        ("La Canebière", 5.3792, 43.2969, 230, 1.0),
        ("Belsunce", 5.3765, 43.2993, 190, 1.0),
        ("Noailles", 5.3810, 43.2960, 150, 0.9),
        ("Gare Saint-Charles", 5.3805, 43.3027, 170, 0.9),
        ("Vieux-Port", 5.3742, 43.2950, 220, 0.8),
        ("Castellane", 5.3841, 43.2858, 190, 0.7),
        ("Porte d'Aix", 5.3748, 43.3019, 150, 0.6),
        ("Préfecture", 5.3800, 43.2905, 180, 0.5),
        ("Joliette", 5.3661, 43.3050, 280, 0.5),
    ],
    "nord": [
        ("La Cabucelle", 5.3614, 43.3337, 330, 1.0),
        ("Saint-Mauront", 5.3766, 43.3162, 300, 1.0),
        ("Les Crottes", 5.3672, 43.3232, 300, 0.9),
        ("Saint-Barthélemy", 5.3950, 43.3257, 330, 0.9),
        ("La Rose", 5.4276, 43.3303, 350, 0.9),
        ("Malpassé", 5.4165, 43.3254, 300, 0.7),
        ("Frais Vallon", 5.4235, 43.3271, 250, 0.7),
        ("La Castellane", 5.3435, 43.3665, 250, 0.8),
        ("La Savine", 5.3675, 43.3755, 250, 0.6),
    ],
    # summer only (own seasonal component)
    "plages": [
        ("Plages du Prado", 5.3729, 43.2620, 450, 1.0),
        ("Pointe Rouge", 5.3690, 43.2452, 300, 0.6),
        ("Les Catalans", 5.3580, 43.2900, 150, 0.5),
    ],
}

#: strategic points where the CSU concentrated its cameras (first phase: 1st-7th + strategic points).
CAMERA_STRATEGIC = [
    ("Vieux-Port", 5.3742, 43.2948, 300, 1.0),
    ("Mucem", 5.3610, 43.2967, 250, 0.8),
    ("Joliette / Euroméditerranée", 5.3661, 43.3050, 400, 0.8),
    ("Gare Saint-Charles", 5.3805, 43.3027, 250, 1.0),
    ("La Canebière", 5.3792, 43.2969, 300, 1.0),
    ("Stade Vélodrome", 5.3950, 43.2696, 400, 0.6),
    ("Castellane", 5.3841, 43.2858, 250, 0.6),
]
CAMERA_ARR_SHARE_CENTRE = 0.62  # share of cameras in arrondissements 1-7


@dataclass(frozen=True)
class Category:
    """One category of a source: share of the volume, time shape, spatial mix, summer beach part."""

    label: str
    share: float
    shape: str  # key of HOURLY_SHAPES
    mix: dict[str, float]  # weight of each hotspot group; "base" = population density alone
    season: str = "standard"  # key of MONTHLY
    weekend: str = "night"  # key of WEEKEND_RULES
    beach: float = 0.0  # extra summer intensity on the beaches, as a share of the category
    surge: dict[str, float] = field(default_factory=dict)  # surge kind -> multiplier (default 1)


INTERVENTIONS = [
    Category(
        "Tapage / nuisances sonores",
        0.14,
        "nuit",
        {"base": 1.0, "centre_nuit": 10.0},
        beach=0.10,
        surge={"match": 1.0, "concert": 1.5},
    ),
    Category(
        "Rixe / violences",
        0.08,
        "nuit",
        {"base": 0.6, "centre_nuit": 9.0, "nord": 3.0},
        beach=0.10,
        surge={"match": 2.0, "manifestation": 1.5},
    ),
    Category(
        "Vol / atteinte aux biens",
        0.10,
        "jour",
        {"base": 0.8, "centre_jour": 9.0},
        beach=0.15,
        weekend="day",
        surge={"concert": 1.5},
    ),
    Category("Dégradation", 0.07, "nuit", {"base": 1.0, "nord": 4.0, "centre_nuit": 2.0}, surge={"manifestation": 2.5}),
    Category(
        "Ivresse sur la voie publique",
        0.07,
        "nuit",
        {"base": 0.4, "centre_nuit": 12.0},
        beach=0.10,
        surge={"match": 3.0, "concert": 2.0},
    ),
    Category(
        "Stationnement gênant",
        0.16,
        "jour",
        {"base": 1.2, "centre_jour": 5.0},
        beach=0.08,
        weekend="weekday",
        surge={"match": 2.5, "concert": 2.0},
    ),
    Category(
        "Occupation illicite de l'espace public",
        0.08,
        "apres_midi",
        {"base": 0.4, "centre_jour": 8.0, "nord": 3.0},
        weekend="day",
    ),
    Category(
        "Accident de la circulation",
        0.06,
        "pointe",
        {"base": 1.5, "centre_jour": 2.0},
        weekend="weekday",
        surge={"match": 1.5},
    ),
    Category("Différend / litige", 0.07, "soir", {"base": 1.5, "nord": 2.0, "centre_jour": 1.5}, weekend="evening"),
    Category(
        "Vente à la sauvette",
        0.05,
        "jour",
        {"base": 0.1, "centre_jour": 12.0},
        beach=0.15,
        weekend="day",
        surge={"match": 2.0, "concert": 2.0},
    ),
    Category(
        "Dépôt sauvage",
        0.05,
        "matin",
        {"base": 1.2, "nord": 5.0},
        weekend="weekday",
        surge={"match": 0.2, "manifestation": 0.2},
    ),
    Category(
        "Assistance à personne",
        0.07,
        "plat",
        {"base": 1.2, "centre_jour": 4.0},
        weekend="flat",
        surge={"match": 1.5, "concert": 1.5},
    ),
]

ALERTES = [
    Category(
        "Rixe / agression",
        0.12,
        "nuit",
        {"base": 0.5, "centre_nuit": 6.0, "nord": 2.0},
        beach=0.10,
        surge={"match": 2.0, "manifestation": 1.5},
    ),
    Category("Vol à l'arraché", 0.10, "jour", {"base": 0.5, "centre_jour": 6.0}, beach=0.10, weekend="day"),
    Category("Dégradation", 0.10, "nuit", {"base": 1.0, "nord": 2.0, "centre_nuit": 2.0}, surge={"manifestation": 3.0}),
    Category(
        "Regroupement",
        0.16,
        "soir",
        {"base": 0.6, "nord": 4.0, "centre_jour": 3.0},
        beach=0.10,
        weekend="evening",
        surge={"match": 2.0},
    ),
    Category("Accident de la circulation", 0.08, "pointe", {"base": 1.5, "centre_jour": 1.5}, weekend="weekday"),
    Category(
        "Stationnement dangereux",
        0.12,
        "jour",
        {"base": 1.0, "centre_jour": 3.0},
        weekend="weekday",
        surge={"match": 3.0, "concert": 2.0},
    ),
    Category("Trafic de stupéfiants", 0.12, "soir", {"base": 0.3, "nord": 7.0, "centre_jour": 2.0}, weekend="evening"),
    Category(
        "Malaise / personne à secourir",
        0.08,
        "plat",
        {"base": 1.0, "centre_jour": 3.0},
        weekend="flat",
        surge={"match": 1.5, "concert": 1.5},
    ),
    Category("Dépôt sauvage", 0.06, "matin", {"base": 1.0, "nord": 3.0}, weekend="weekday"),
    Category("Incendie", 0.06, "nuit", {"base": 1.0, "nord": 3.0}, surge={"manifestation": 2.0}),
]

SIGNALEMENTS = [
    Category(
        "Bruit / nuisances",
        0.20,
        "soir_tard",
        {"base": 1.5, "centre_nuit": 6.0},
        beach=0.05,
        weekend="night",
        surge={"concert": 2.0},
    ),
    Category("Incivilités", 0.12, "jour", {"base": 1.0, "centre_jour": 4.0}, weekend="day"),
    Category("Dépôt sauvage", 0.18, "matin", {"base": 1.2, "nord": 4.0}, weekend="weekday"),
    Category(
        "Stationnement gênant",
        0.16,
        "jour",
        {"base": 1.2, "centre_jour": 3.0},
        beach=0.08,
        weekend="weekday",
        surge={"match": 3.0, "concert": 2.0},
    ),
    Category("Squat / occupation", 0.06, "jour", {"base": 0.6, "nord": 3.0, "centre_jour": 3.0}, weekend="weekday"),
    Category("Rodéo urbain", 0.06, "soir", {"base": 0.3, "nord": 8.0}, season="ete_fort", weekend="evening"),
    Category("Éclairage / mobilier dégradé", 0.08, "jour", {"base": 1.5, "centre_jour": 1.0}, weekend="weekday"),
    Category(
        "Tags / graffitis",
        0.08,
        "jour",
        {"base": 0.6, "centre_jour": 5.0, "centre_nuit": 3.0},
        weekend="weekday",
        surge={"manifestation": 2.0},
    ),
    Category("Trafic suspecté", 0.06, "soir", {"base": 0.3, "nord": 8.0}, weekend="evening"),
]

CATEGORIES = {
    "interventions": INTERVENTIONS,
    "alertes_videoprotection": ALERTES,
    "signalements": SIGNALEMENTS,
}

# --------------------------------------------------------------------------- time shapes
#: relative intensity by local hour 0..23 (normalised later).
HOURLY_SHAPES = {
    "nuit": [
        2.4,
        2.1,
        1.6,
        1.1,
        0.7,
        0.35,
        0.25,
        0.25,
        0.35,
        0.45,
        0.55,
        0.6,
        0.7,
        0.7,
        0.7,
        0.75,
        0.85,
        1.0,
        1.15,
        1.35,
        1.6,
        1.85,
        2.2,
        2.5,
    ],
    "jour": [
        0.15,
        0.1,
        0.08,
        0.06,
        0.06,
        0.1,
        0.3,
        0.8,
        1.4,
        1.8,
        2.0,
        2.1,
        1.9,
        1.8,
        1.9,
        1.95,
        1.9,
        1.7,
        1.4,
        1.0,
        0.7,
        0.5,
        0.35,
        0.25,
    ],
    "apres_midi": [
        0.3,
        0.2,
        0.12,
        0.08,
        0.06,
        0.08,
        0.2,
        0.5,
        0.9,
        1.3,
        1.6,
        1.8,
        1.9,
        2.0,
        2.1,
        2.1,
        2.0,
        1.9,
        1.7,
        1.4,
        1.1,
        0.8,
        0.6,
        0.4,
    ],
    "pointe": [
        0.3,
        0.2,
        0.15,
        0.1,
        0.12,
        0.3,
        0.8,
        1.8,
        2.3,
        1.5,
        1.1,
        1.1,
        1.3,
        1.2,
        1.1,
        1.3,
        1.7,
        2.2,
        2.1,
        1.5,
        0.9,
        0.7,
        0.5,
        0.4,
    ],
    "soir": [
        0.9,
        0.6,
        0.35,
        0.2,
        0.12,
        0.1,
        0.15,
        0.3,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        0.95,
        1.0,
        1.1,
        1.3,
        1.6,
        1.9,
        2.1,
        2.2,
        2.1,
        1.8,
        1.3,
    ],
    "soir_tard": [
        1.8,
        1.3,
        0.8,
        0.4,
        0.2,
        0.15,
        0.2,
        0.4,
        0.6,
        0.7,
        0.75,
        0.8,
        0.8,
        0.8,
        0.8,
        0.85,
        0.9,
        1.0,
        1.2,
        1.4,
        1.7,
        2.0,
        2.3,
        2.2,
    ],
    "matin": [
        0.15,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.3,
        2.2,
        2.6,
        2.4,
        2.0,
        1.6,
        1.3,
        1.1,
        1.0,
        0.9,
        0.8,
        0.7,
        0.6,
        0.5,
        0.4,
        0.3,
        0.25,
        0.2,
    ],
    "plat": [
        0.7,
        0.6,
        0.5,
        0.45,
        0.45,
        0.5,
        0.7,
        0.9,
        1.1,
        1.2,
        1.25,
        1.3,
        1.3,
        1.25,
        1.2,
        1.2,
        1.2,
        1.2,
        1.2,
        1.15,
        1.1,
        1.0,
        0.9,
        0.8,
    ],
    # beach afternoons and evenings
    "plage": [
        0.5,
        0.3,
        0.15,
        0.05,
        0.02,
        0.02,
        0.05,
        0.1,
        0.3,
        0.6,
        1.0,
        1.5,
        1.9,
        2.1,
        2.2,
        2.2,
        2.1,
        2.0,
        1.9,
        1.8,
        1.6,
        1.3,
        1.0,
        0.7,
    ],
}

#: weekly modulation: (factor for Fri/Sat nights 22h-05h, Saturday daytime, Sunday daytime,
#: weekday evenings 18h-22h on Fri/Sat).
WEEKEND_RULES = {
    "night": {"weekend_night": 2.0, "saturday_day": 1.1, "sunday_day": 1.0, "weekend_evening": 1.4},
    "evening": {"weekend_night": 1.6, "saturday_day": 1.1, "sunday_day": 1.0, "weekend_evening": 1.4},
    "day": {"weekend_night": 1.2, "saturday_day": 1.25, "sunday_day": 0.8, "weekend_evening": 1.1},
    "weekday": {"weekend_night": 1.0, "saturday_day": 0.8, "sunday_day": 0.55, "weekend_evening": 1.0},
    "flat": {"weekend_night": 1.4, "saturday_day": 1.0, "sunday_day": 0.9, "weekend_evening": 1.1},
}

#: relative intensity by month (January..December), normalised to mean 1.
MONTHLY = {
    "standard": [0.90, 0.88, 0.95, 1.00, 1.05, 1.12, 1.20, 1.18, 1.05, 1.00, 0.92, 0.95],
    "ete_fort": [0.55, 0.55, 0.75, 0.95, 1.15, 1.40, 1.65, 1.60, 1.20, 0.95, 0.65, 0.60],
    "plage": [0.0, 0.0, 0.0, 0.05, 0.3, 1.0, 1.6, 1.6, 0.6, 0.05, 0.0, 0.0],
}
HOLIDAY_NIGHT_FACTOR = 1.5
#: (month, day) of nights with large festivities (the night starting that day).
FESTIVE_NIGHTS = {(12, 31): 2.5, (7, 13): 1.8, (7, 14): 2.0, (6, 21): 2.0}

# --------------------------------------------------------------------------- surges
#: multiplicative surge parameters: kind -> (radius_m, k per log-attendance unit, hours before, hours after)
#: k = kappa × ln(attendance / attendance_ref), never negative
SURGES = {
    "match": {"radius_m": 800.0, "kappa": 1.5, "attendance_ref": 1000, "before_h": 3.0, "after_h": 2.0},
    "concert": {"radius_m": 500.0, "kappa": 0.6, "attendance_ref": 1000, "before_h": 2.0, "after_h": 1.5},
    "festival": {"radius_m": 500.0, "kappa": 0.5, "attendance_ref": 1000, "before_h": 1.0, "after_h": 1.0},
    "manifestation": {"radius_m": 150.0, "kappa": 0.5, "attendance_ref": 50, "before_h": 0.5, "after_h": 0.5},
}
#: sources affected by surges and their relative sensitivity
SURGE_SOURCE_FACTOR = {"interventions": 1.0, "alertes_videoprotection": 1.0, "signalements": 0.5}

# --------------------------------------------------------------------------- records
DEFECT_RATE = 0.003
DUPLICATE_RATE = 0.001
DEFECT_MIN_ROWS = 50
SHARE_WITH_COORDS = {"interventions": 0.85, "signalements": 0.60, "evenements_publics": 0.75}
