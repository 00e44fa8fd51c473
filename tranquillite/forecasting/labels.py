"""The predictors' and horizons' French names: one list for the app's pages and for the texts the
pipeline writes for the public (the champion's reason on the model card, `models.backtest_public`)."""

from __future__ import annotations

MODEL_LABELS = {
    "derniere_periode": "Dernière période",
    "moyenne_saisonniere": "Moyenne saisonnière",
    "hotspot_retrospectif": "Points chauds rétrospectifs",
    "hotspot_prospectif": "Points chauds prospectifs",
    "glm_poisson": "Régression de Poisson (GLM)",
    "lgbm_sans_evenements": "LightGBM sans les événements prévus",
    "compte_52_semaines": "Compte des 52 dernières semaines",
    "compte_historique": "Compte de tout l'historique",
    "sepp": "Processus auto-excitant (SEPP)",
    "multi_echelle": "LightGBM multi-échelle (court et long terme)",
    "lgbm_avec_evenements": "LightGBM avec les événements prévus",
    "oracle": "Oracle (intensité vraie, données synthétiques)",
}
HORIZON_LABELS = {
    "creneau_suivant": "Créneau suivant",
    "jour_suivant": "Jour suivant",
    "7_jours": "Sept jours (par créneau)",
    "semaine_suivante": "Semaine suivante (une carte)",
}
