"""French free texts of the synthetic records, and the personal data injected as defects.

Normal texts never contain a person's name, a civility, a phone-like group of digits, an e-mail
address, a licence plate, a social-security number, an IBAN or a date of birth: only the
`donnee_personnelle` defects do (see `pii`), in the varied forms careless agents type.
"""

from __future__ import annotations

import numpy as np
import phonenumbers

OBSERVATIONS_INTERVENTIONS = {
    "Tapage / nuisances sonores": [
        "Musique amplifiée depuis un appartement, occupants invités à baisser le volume.",
        "Nuisances sonores d'un établissement de nuit après l'heure de fermeture.",
        "Rassemblement bruyant sur la voie publique, dispersion sans incident.",
        "Tapage signalé par plusieurs riverains, situation calme à l'arrivée de la patrouille.",
    ],
    "Rixe / violences": [
        "Altercation entre plusieurs individus, une personne légèrement blessée prise en charge par les secours.",
        "Bagarre à la sortie d'un bar, individus séparés par la patrouille.",
        "Violences réciproques entre deux groupes, auteurs partis à l'arrivée des effectifs.",
    ],
    "Vol / atteinte aux biens": [
        "Vol à l'étalage signalé par un commerçant, auteur parti avant l'arrivée de la patrouille.",
        "Vol de téléphone portable à l'arraché, victime orientée vers le commissariat.",
        "Effraction d'un véhicule en stationnement, propriétaire avisé.",
    ],
    "Dégradation": [
        "Abribus dégradé, services techniques avisés.",
        "Vitrine de commerce brisée dans la nuit, constat réalisé.",
        "Mobilier urbain endommagé, signalement transmis aux services de la voirie.",
        "Inscriptions sur la façade d'un bâtiment public.",
    ],
    "Ivresse sur la voie publique": [
        "Personne en état d'ivresse manifeste, prise en charge par les secours.",
        "Individu fortement alcoolisé importunant les passants, conduit en cellule de dégrisement.",
        "Regroupement de personnes alcoolisées, rappel de l'arrêté municipal.",
    ],
    "Stationnement gênant": [
        "Véhicule stationné sur un passage piéton, procès-verbal dressé.",
        "Stationnement en double file gênant la circulation des bus.",
        "Véhicule ventouse signalé, enlèvement demandé.",
        "Stationnement sur un emplacement réservé aux personnes handicapées.",
    ],
    "Occupation illicite de l'espace public": [
        "Occupation du trottoir par une terrasse non autorisée.",
        "Étalage de marchandises sur la voie publique sans autorisation.",
        "Installation de mobilier sur le domaine public, rappel de la réglementation.",
    ],
    "Accident de la circulation": [
        "Accrochage entre deux véhicules sans blessé, constat amiable rempli.",
        "Collision entre un scooter et une voiture, conducteur du deux-roues pris en charge par les secours.",
        "Piéton heurté à une intersection, transport vers l'hôpital.",
    ],
    "Différend / litige": [
        "Différend de voisinage au sujet de nuisances, parties apaisées.",
        "Litige entre un client et un commerçant, médiation sur place.",
        "Conflit entre automobilistes, situation apaisée à l'arrivée de la patrouille.",
    ],
    "Vente à la sauvette": [
        "Vendeurs à la sauvette dispersés, marchandises saisies.",
        "Vente de cigarettes à la sauvette, saisie effectuée.",
        "Vente de boissons non autorisée, rappel à la loi.",
    ],
    "Dépôt sauvage": [
        "Dépôt d'encombrants sur le trottoir, service de la propreté avisé.",
        "Gravats abandonnés sur la chaussée, enquête de voisinage.",
        "Sacs d'ordures déposés hors des conteneurs.",
    ],
    "Assistance à personne": [
        "Personne âgée désorientée raccompagnée à son domicile.",
        "Personne ayant fait un malaise, secours appelés.",
        "Enfant égaré confié à sa famille après recherche.",
        "Personne sans abri orientée vers un accueil de nuit.",
    ],
}

OBSERVATIONS_ALERTES = {
    "Rixe / agression": [
        "Individus en train de se battre, patrouille engagée.",
        "Agression en cours sur la voie publique, suivi par les opérateurs.",
    ],
    "Vol à l'arraché": [
        "Vol à l'arraché repéré en direct, auteur suivi par les caméras.",
        "Victime à terre après un vol à l'arraché, patrouille dirigée sur place.",
    ],
    "Dégradation": ["Dégradation de mobilier urbain en cours.", "Individus dégradant un véhicule en stationnement."],
    "Regroupement": [
        "Regroupement d'une vingtaine de personnes.",
        "Regroupement persistant devant un hall d'immeuble.",
    ],
    "Accident de la circulation": [
        "Accident entre deux véhicules, secours engagés.",
        "Chute d'un deux-roues, circulation perturbée.",
    ],
    "Stationnement dangereux": [
        "Véhicule stationné sur la voie de bus.",
        "Stationnement en double file bloquant un carrefour.",
    ],
    "Trafic de stupéfiants": [
        "Transactions suspectes observées à plusieurs reprises.",
        "Guetteurs repérés à l'entrée de la résidence.",
    ],
    "Malaise / personne à secourir": [
        "Personne au sol, secours demandés.",
        "Personne en difficulté, patrouille engagée.",
    ],
    "Dépôt sauvage": ["Dépôt d'encombrants en cours depuis un véhicule utilitaire."],
    "Incendie": ["Départ de feu de poubelle, marins-pompiers avisés.", "Fumée visible, marins-pompiers engagés."],
}

DESCRIPTIONS_SIGNALEMENTS = {
    "Bruit / nuisances": [
        "Musique forte tous les soirs après minuit.",
        "Bruit d'un établissement de nuit jusqu'au matin.",
        "Nuisances sonores répétées dans la cour de l'immeuble.",
    ],
    "Incivilités": [
        "Regroupements et incivilités devant l'entrée de l'immeuble.",
        "Jets de détritus depuis les fenêtres.",
        "Incivilités répétées aux abords de l'école.",
    ],
    "Dépôt sauvage": [
        "Encombrants déposés sur le trottoir depuis plusieurs jours.",
        "Dépôt de gravats au bout de la rue.",
        "Sacs poubelles éventrés au pied des conteneurs.",
    ],
    "Stationnement gênant": [
        "Voitures garées sur le trottoir, passage impossible avec une poussette.",
        "Stationnement permanent devant une sortie de garage.",
        "Véhicule abandonné depuis des semaines.",
    ],
    "Squat / occupation": ["Local vacant occupé sans droit.", "Occupation d'un hall d'immeuble toute la journée."],
    "Rodéo urbain": ["Rodéos de motos tous les soirs dans la rue.", "Deux-roues en roue arrière sur le boulevard."],
    "Éclairage / mobilier dégradé": [
        "Lampadaire éteint depuis une semaine.",
        "Banc public arraché.",
        "Potelets renversés sur le trottoir.",
    ],
    "Tags / graffitis": ["Tags sur la façade de l'immeuble.", "Graffitis sur le mur de l'école."],
    "Trafic suspecté": ["Allées et venues suspectes à toute heure.", "Présence de guetteurs à l'entrée de la cité."],
}

# --------------------------------------------------------------------------- Préfecture
DEMO_OBJETS = {
    "Syndicat": [
        "Manifestation intersyndicale contre la réforme des retraites",
        "Manifestation pour l'augmentation des salaires",
        "Manifestation des personnels hospitaliers pour les moyens de l'hôpital public",
        "Manifestation des enseignants contre les suppressions de postes",
        "Manifestation des agents territoriaux",
        "Manifestation des agents portuaires",
    ],
    "association": [
        "Marche pour le climat",
        "Marche contre les violences faites aux femmes",
        "Marche pour le droit au logement et contre l'habitat indigne",
        "Marche de solidarité internationale pour la paix",
        "Marche blanche en hommage à une victime",
        "Marche pour les droits des personnes handicapées",
    ],
    "Parti Politique": [
        "Marche contre la vie chère",
        "Manifestation pour la défense des services publics",
    ],
    "Autres": [
        "Manifestation des étudiants contre la précarité",
        "Mobilisation des lycéens",
        "Opération escargot des chauffeurs de taxi",
        "Manifestation des agriculteurs",
    ],
}
MOTORISED_OBJETS = {"Opération escargot des chauffeurs de taxi", "Manifestation des agriculteurs"}
BIG_DAY_OBJETS = [
    "Manifestation intersyndicale contre la réforme des retraites",
    "Journée nationale de mobilisation interprofessionnelle",
]
MAY_DAY_OBJET = "Défilé intersyndical de la fête du travail"
PRIDE_OBJET = "Marche des fiertés"

DEMO_DESCRIPTIONS = [
    "Parcours habituel, dispersion prévue à l'arrivée.",
    "Présence de véhicules sonorisés en tête de cortège.",
    "Service d'ordre assuré par l'organisateur.",
    "Prises de parole prévues au point d'arrivée.",
    "Cortège précédé d'une banderole, circulation à interrompre au passage.",
]

STATIC_OBJETS = {
    "Syndicat": [
        "Rassemblement de soutien aux salariés d'une entreprise en difficulté",
        "Rassemblement des personnels de santé",
        "Rassemblement des agents de la propreté",
    ],
    "association": [
        "Rassemblement pour le droit au logement",
        "Rassemblement des parents d'élèves contre les fermetures de classes",
        "Rassemblement en hommage aux victimes",
        "Rassemblement pour la paix",
        "Rassemblement pour la régularisation des travailleurs sans papiers",
    ],
    "Parti Politique": ["Rassemblement pour la défense des services publics de proximité"],
    "Autres": [
        "Rassemblement des commerçants du centre-ville",
        "Rassemblement des habitants contre un projet immobilier",
    ],
}
STATIC_DESCRIPTIONS = [
    "Rassemblement statique, prises de parole prévues.",
    "Installation d'une sonorisation légère.",
    "Une délégation doit être reçue en cours de rassemblement.",
    "Tables et banderoles installées sur le trottoir.",
]

OPERATION_OBJETS = {
    "PSQ Transports": [
        "Sécurisation des transports en commun (PSQ Transports)",
        "Opération de contrôle dans les stations de métro",
        "Présence renforcée aux abords de la gare",
    ],
    "PSQ QRR": [
        "Opération de reconquête républicaine (QRR)",
        "Sécurisation du quartier et lutte contre les trafics",
        "Opération de contrôle aux abords des points de vente de stupéfiants",
    ],
    "Sécurité Routière": [
        "Contrôles de vitesse et d'alcoolémie",
        "Opération de prévention des rodéos urbains",
        "Contrôle des deux-roues motorisés",
    ],
    "CODAF": [
        "Contrôle des commerces (CODAF) : travail dissimulé, hygiène et fiscalité",
        "Opération conjointe CODAF avec les services fiscaux et l'inspection du travail",
    ],
    "Marché aux Puces": [
        "Sécurisation du marché aux puces",
        "Lutte contre la vente à la sauvette aux abords du marché aux puces",
    ],
    "MIN": ["Contrôle au marché d'intérêt national (MIN)", "Sécurisation des arrivages au marché d'intérêt national"],
}
OPERATION_DESCRIPTIONS = [
    "Opération coordonnée avec la police municipale.",
    "Effectifs mobilisés sur plusieurs points du secteur.",
    "Contrôles ciblés, périmètre défini avec les services concernés.",
]

VISIT_OBJETS = [
    "Visite ministérielle",
    "Déplacement du Président de la République",
    "Déplacement du Premier ministre",
    "Visite d'une délégation étrangère",
    "Visite officielle d'un chef d'État étranger",
    "Déplacement du ministre de l'Intérieur",
    "Sommet international",
    "Visite d'une délégation parlementaire",
]
VISIT_DESCRIPTIONS = [
    "Itinéraire du cortège officiel communiqué la veille.",
    "Fermetures de voies ponctuelles au passage du cortège.",
    "Périmètre de sécurité mis en place autour du site.",
]

# --------------------------------------------------------------------------- personal data (defects only)
_PRENOMS = [
    "Jean",
    "Marie",
    "Pierre",
    "Sophie",
    "Nicolas",
    "Nathalie",
    "Karim",
    "Fatima",
    "Julien",
    "Camille",
    "Mehdi",
    "Laura",
    "Antoine",
    "Sarah",
    "Thomas",
    "Inès",
]
_NOMS = [
    "Dupont",
    "Martin",
    "Durand",
    "Bernard",
    "Petit",
    "Moreau",
    "Laurent",
    "Garcia",
    "Roux",
    "Fournier",
    "Girard",
    "Benali",
    "Mercier",
    "Blanc",
    "Guerin",
    "Faure",
]
_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"]
_PLATE_LETTERS = list("ABCDEFGHJKLMNPQRSTVWXYZ")
#: sub-kinds, named as the kinds of `tranquillite.pii` (the first four first: small runs show them)
PII_KINDS = ("telephone", "email", "plaque", "nom_de_personne", "nir", "iban", "date_de_naissance")
_MOIS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_CYRILLIC = str.maketrans({"M": "М", "a": "а", "e": "е", "o": "о", "p": "р", "c": "с"})
# letter pairs of old plates that are acronyms or units in reports (never drawn)
_NOT_PLATE = {
    "PV",
    "PL",
    "VL",
    "SA",
    "CA",
    "CE",
    "CM",
    "CP",
    "FO",
    "GN",
    "HT",
    "ID",
    "JO",
    "KM",
    "NB",
    "OK",
    "OM",
    "PM",
    "PN",
    "PS",
    "RD",
    "RN",
    "TJ",
    "UE",
    "WC",
    "AG",
    "BD",
    "AV",
    "CH",
    "MN",
    "TV",
    "PC",
    "SMS",
}


def _pick(seq, rng: np.random.Generator):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def _phone(rng: np.random.Generator) -> str:
    """A valid French mobile number (an allocated range, per libphonenumber), written as people write them."""
    while True:
        num = "06" + _digits(rng, 8) if rng.random() < 0.6 else "07" + str(int(rng.integers(5, 10))) + _digits(rng, 7)
        if phonenumbers.is_valid_number(phonenumbers.parse(num, "FR")):
            break
    pairs = [num[i : i + 2] for i in range(0, 10, 2)]
    form = int(rng.integers(0, 8))
    if form == 0:
        return " ".join(pairs)
    if form == 1:
        return ".".join(pairs)
    if form == 2:
        return num
    if form == 3:
        return "+33 " + num[1] + " " + " ".join(pairs[1:])
    if form == 4:
        return "+33 (0)" + num[1] + " " + " ".join(pairs[1:])
    if form == 5:
        return " ".join(pairs).translate(_FULLWIDTH)
    if form == 6:
        return " ".join(num)
    return "-".join(pairs)


def _nir(rng: np.random.Generator) -> str:
    body = (
        str(int(rng.integers(1, 3)))
        + f"{int(rng.integers(50, 100)):02d}"
        + f"{int(rng.integers(1, 13)):02d}"
        + "13"
        + f"{int(rng.integers(1, 217)):03d}"
        + f"{int(rng.integers(1, 1000)):03d}"
    )
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def _iban(rng: np.random.Generator) -> str:
    bban = _digits(rng, 10) + _digits(rng, 11) + _digits(rng, 2)
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "FR00")) % 97
    iban = f"FR{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def pii(kind: str, rng: np.random.Generator) -> str:
    """A fake personal datum of the given sub-kind, in a short French phrase, in one of the forms a
    careless agent types (varied: the guard must not be tested on its own patterns only)."""
    p, n = _pick(_PRENOMS, rng), _pick(_NOMS, rng)
    if kind == "telephone":
        lead = _pick(
            ["requérant joignable au", "rappeler le requérant au", "tél.", "contact :", "numéro laissé :"], rng
        )
        return f"{lead} {_phone(rng)}"
    if kind == "email":
        dom = _pick(_DOMAINS, rng)
        name, tld = dom.rsplit(".", 1)
        user = f"{_ascii(p)}.{_ascii(n)}"
        form = int(rng.integers(0, 5))
        address = [
            f"{user}@{dom}",
            f"{user}(at){dom}",
            f"{user} [at] {name} [dot] {tld}",
            f"{_ascii(p)}{_ascii(n)} arobase {name} point {tld}",
            f"{user}@{dom}".upper(),
        ][form]
        return f"contact transmis : {address}"
    if kind == "plaque":
        while True:
            a, b = "".join(rng.choice(_PLATE_LETTERS, 2)), "".join(rng.choice(_PLATE_LETTERS, 2))
            if a not in _NOT_PLATE and b not in _NOT_PLATE:
                break
        form = int(rng.integers(0, 4))
        plate = [
            f"{a}-{int(rng.integers(100, 1000))}-{b}",
            f"{a} {int(rng.integers(100, 1000))} {b}",
            f"{a.lower()}-{int(rng.integers(100, 1000))}-{b.lower()}",
            f"{int(rng.integers(100, 10000))} {a} {_pick(['13', '83', '84', '06', '30'], rng)}",
        ][form]
        return f"véhicule immatriculé {plate}"
    if kind == "nom_de_personne":
        form = int(rng.integers(0, 7))
        return [
            f"témoin : M. {n}",
            f"Mme. {n} a appelé",
            f"M {n} présent sur place",
            f"requérant {p} {n}",
            f"mis en cause : {n.upper()} {p}",
            f"témoin : {'Mme'.translate(_CYRILLIC)} {n.translate(_CYRILLIC)}",
            f"appel de Monsieur {p} {n}",
        ][form]
    if kind == "nir":
        return f"n° de sécurité sociale {_nir(rng)}"
    if kind == "iban":
        return f"RIB transmis pour le remboursement : {_iban(rng)}"
    if kind == "date_de_naissance":
        d, m, y = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1950, 2008))
        form = int(rng.integers(0, 4))
        return [
            f"personne née le {d:02d}/{m:02d}/{y}",
            f"mis en cause né le {d} {_MOIS[m - 1]} {y}",
            f"DDN {d:02d}/{m:02d}/{y % 100:02d}",
            f"date de naissance : {d:02d}.{m:02d}.{y}",
        ][form]
    raise ValueError(kind)


def _ascii(s: str) -> str:
    return s.lower().replace("è", "e").replace("é", "e").replace("ï", "i")


def with_pii(text: str | None, kind: str, rng: np.random.Generator) -> str:
    base = (text or "").rstrip(". ")
    phrase = pii(kind, rng)
    return f"{base}, {phrase}." if base else phrase[0].upper() + phrase[1:] + "."
