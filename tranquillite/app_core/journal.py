"""The access log in words (page *Journal d'accès*): actions, pages, profiles, filters and details
read by a person, not a program — the stored line is not changed (it is MACed), only shown.

Actions: the codes written by `store.log_access` callers (app, CLI, conventions, destruction…),
each with its French phrase; the families built from a prefix (`cli_<commande>`,
`convention_<changement>`, `remise_<événement>`, `destruction_<statut>`) by rule; any other code
made readable (underscores → spaces, first letter capitalised). Details: JSON objects as
« clé : valeur » fields, lists joined, nested « avant / après » shown side by side; free text as it is.
"""

from __future__ import annotations

import json
from typing import Any

ACTION_LABELS = {
    "consultation": "Consultation de la page",
    "lecture": "Lecture de données",
    "detail": "Consultation du détail d'un événement",
    "export_csv": "Export CSV",
    "export_refuse": "Export refusé (convention)",
    "acces_refuse": "Accès refusé",
    "connexion_reussie": "Connexion réussie",
    "connexion_echouee": "Connexion échouée",
    "verrouillage": "Compte verrouillé après plusieurs échecs",
    "deconnexion": "Déconnexion",
    "logout": "Déconnexion",
    "session_expiree": "Session expirée (inactivité)",
    "session_reprise": "Session reprise (cookie)",
    "habilitation_retiree": "Session fermée: habilitation retirée",
    "oidc_refusee": "Connexion par l'annuaire de la Ville refusée",
    "changement_mot_de_passe": "Changement de mot de passe",
    "changement_nature_reconnu": "Changement de nature d'activité pris en compte",
    "habilitation_creee": "Habilitation créée",
    "habilitation_modifiee": "Habilitation modifiée",
    "habilitation_desactivee": "Habilitation désactivée",
    "modification_refusee": "Modification des droits refusée",
    "mot_de_passe_reinitialise": "Mot de passe réinitialisé",
    "mot_de_passe_prefecture": "Mot de passe provisoire d'un compte Préfecture",
    "compte_deverrouille": "Compte déverrouillé",
    "actions_individuelles": "Actions individuelles modifiées",
    "droits_profil": "Droits d'un profil modifiés",
    "saisie_enregistree": "Saisie Cortège enregistrée",
    "saisie_refusee": "Saisie Cortège refusée",
    "rapport_telecharge": "Rapport téléchargé",
    "reglage_conservation": "Durée de conservation modifiée",
    "attestation_verifiee": "Attestation de destruction vérifiée",
    "destruction_commencee": "Destruction commencée",
    "compte_cree": "Compte créé",
}
PREFIXES = {  # action families: prefix → phrase before the rest, made readable
    "cli_": "Commande en ligne",
    "convention_": "Convention",
    "remise_": "Remise à un prestataire",
    "destruction_": "Destruction",
}
ACCENTS = {
    "reussie": "réussie",
    "echouee": "échouée",
    "refusee": "refusée",
    "creee": "créée",
    "modifiee": "modifiée",
    "enregistree": "enregistrée",
    "terminee": "terminée",
    "annulee": "annulée",
    "resiliee": "résiliée",
    "detruire": "détruire",
    "resilier": "résilier",
    "commencee": "commencée",
    "reconduite": "reconduite",
    "echec": "échec",
    "verifiee": "vérifiée",
    "restituee": "restituée",
    "donnees": "données",
    "materialiser": "matérialiser",
    "demarree": "démarrée",
    "prevision": "prévision",
    "parametres": "paramètres",
    "notifiee": "notifiée",
    "preavis": "préavis",
    "reussi": "réussi",
    "echoue": "échoué",
    "renouvelee": "renouvelée",
}
KEY_LABELS = {
    "qui": "Par",
    "pour": "Pour",
    "avant": "Avant",
    "apres": "Après",
    "demande": "Demande",
    "valeurs": "Valeurs",
    "conventions": "Conventions",
    "refusees": "Refusées",
    "lignes": "Lignes",
    "convention": "Convention",
    "du": "Du",
    "au": "Au",
    "heures": "Heures",
    "sources": "Sources",
    "cat": "Catégories",
    "arr": "Arrondissements",
    "vue": "Affichage",
    "h3": "Maille H3",
    "utilisateur": "Utilisateur",
    "profil": "Profil",
    "page": "Page",
    "exports": "Exports seulement",
    "categorie": "Catégorie",
    "creneau": "Créneau",
    "zone_signalee": "Zone signalée",
    "horizon_evaluation": "Horizon d'évaluation",
    "evenement": "Événement",
    "type": "Type",
    "indicateur": "Indicateur",
    "mois": "Mois",
    "famille": "Famille",
    "profile": "Profil",
    "active": "Active",
    "activity_nature": "Nature d'activité",
    "organisation": "Organisation",
    "pages": "Pages",
    "actions": "Actions",
    "mot_de_passe": "Mot de passe",
    "verrouillage": "Verrouillage",
    "attestation": "Attestation",
    "prestataire": "Prestataire",
    "tables": "Tables",
}


def readable(code: str) -> str:
    words = [ACCENTS.get(w, w) for w in code.replace("-", "_").split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def action_label(code: str | None) -> str:
    if not code:
        return ""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    for prefix, phrase in PREFIXES.items():
        if code.startswith(prefix):
            return f"{phrase}: {readable(code[len(prefix) :]).lower()}"
    return readable(code)


def value_labels() -> dict[str, str]:
    """Codes that appear as values in the details (profiles, pages, actions, organisations, activity natures,
    sources) → their names."""
    from tranquillite import sources as S
    from tranquillite.app_core.rights import ACTIONS, ACTIVITY_NATURES, ORGANISATIONS, PAGES, PROFILES

    return {
        **S.labels(),
        **{k: v["title"] for k, v in PAGES.items()},
        **ACTIONS,
        **{o["code"]: o["label"] for o in ORGANISATIONS},
        **{a["code"]: a["label"] for a in ACTIVITY_NATURES},
        **{p.code: p.label for p in PROFILES},
    }


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _value(v: Any, names: dict[str, str]) -> str:
    if v is None or v == "" or v == [] or v == {}:
        return "—"
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, list):
        return ", ".join(_value(x, names) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{_lower(KEY_LABELS.get(k, readable(str(k))))} {_value(x, names)}" for k, x in v.items())
    return names.get(v, str(v)) if isinstance(v, str) else str(v)


def fields(text: str | None, names: dict[str, str] | None = None) -> str:
    """A JSON object as « Clé : valeur » fields (one per line); anything else as it is; nothing as ""."""
    if text is None or not str(text).strip() or str(text).strip() in ("{}", "null", "None"):
        return ""
    try:
        doc = json.loads(text)
    except (ValueError, TypeError):
        return str(text)
    if not isinstance(doc, dict):
        return _value(doc, names or {})
    parts = []
    for k, v in doc.items():
        if v is None or v == "" or v == [] or v == {}:
            continue
        parts.append(f"{KEY_LABELS.get(k, readable(str(k)))} : {_value(v, names or {})}")
    return " · ".join(parts)
