"""Hand-made valid landing records for every contract, and writers in the real formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tranquillite.contracts import load_contracts

CANEBIERE = "La Canebière, 13001 Marseille"
ROME = "Rue de Rome, 13006 Marseille"
PREFECTURE = "Place Félix Baret, 13006 Marseille"

# the forecast settings of the end-to-end runs on four weeks of a small generated city: two weekly
# origins trained on two weeks, few rounds (the production defaults need months of data)
SMALL_FORECAST = {"n_origins": 2, "train_weeks": 2, "lgbm_rounds": 20, "workers": 1, "threads": 1}

VALID: dict[str, dict] = {
    "interventions": {
        "N° intervention": "INT-1",
        "Catégorie": "Rixe / violences",
        "Début": "08/03/2025 23:10",
        "Fin": "09/03/2025 00:05",
        "Adresse": CANEBIERE,
        "Code postal": "13001",
        "Longitude": "5.379177",
        "Latitude": "43.296909",
        "Unité": "Brigade de nuit",
        "Suite donnée": "Rappel à la loi",
        "Observations": "Intervention terminée sans incident",
    },
    "alertes_videoprotection": {
        "Identifiant alerte": "ALR-1",
        "Caméra": "CAM-0042",
        "Catégorie": "Regroupement",
        "Date et heure": "08/03/2025 22:15",
        "Adresse": CANEBIERE,
        "Longitude": "5.379177",
        "Latitude": "43.296909",
        "Observations": "",
    },
    "signalements": {
        "N° signalement": "SIG-1",
        "Catégorie": "Bruit / nuisances",
        "Date et heure": "08/03/2025 23:40",
        "Canal": "Application mobile",
        "Adresse": ROME,
        "Code postal": "13006",
        "Longitude": "",
        "Latitude": "",
        "Description": "Musique forte depuis un bar",
    },
    "evenements_publics": {
        "Identifiant": "EVT-1",
        "Intitulé": "OM – Lyon",
        "Type": "Match de football",
        "Lieu": "Orange Vélodrome",
        "Adresse": "Boulevard Michelet, 13008 Marseille",
        "Début": "08/03/2025 21:00",
        "Fin": "08/03/2025 23:00",
        "Fréquentation attendue": "62000",
        "Longitude": "5.395049",
        "Latitude": "43.269554",
    },
    "incidents": {
        "id": "X-1",
        "timestamp": "2025-03-08T10:00:00",
        "category": "vol",
        "lon": "",
        "lat": "",
        "x": "893800",
        "y": "6247500",
        "crs": "EPSG:2154",
    },
}

_ENV = {"version": 1, "saisi_le": "2025-03-01T09:30:00+01:00"}
VALID_CORTEGE: dict[str, dict] = {
    "manifestation_deambulatoire": {
        "id": "PP-2025-000001",
        "type": "manifestation_deambulatoire",
        **_ENV,
        "objet": "Manifestation intersyndicale pour les salaires",
        "description_observations": "Parcours déclaré",
        "adresse_depart": "Quai du Port, 13002 Marseille",
        "adresses_points_passage": [CANEBIERE],
        "adresse_arrivee": "Square Stalingrad, 13001 Marseille",
        "date_debut": "2025-03-08T10:30:00+01:00",
        "date_fin": "2025-03-08T13:00:00+01:00",
        "nombre_personnes_attendues": 3000,
        "nombre_personnes_declarees": 2500,
        "nombre_voitures_attendues": None,
        "nombre_voitures_declarees": 2,
        "statut_organisateur": "Syndicat",
        "trace_parcours": None,
    },
    "manifestation_statique": {
        "id": "PP-2025-000002",
        "type": "manifestation_statique",
        **_ENV,
        "objet": "Rassemblement devant la Préfecture",
        "description_observations": None,
        "adresse": PREFECTURE,
        "date_debut": "2025-03-08T14:00:00+01:00",
        "date_fin": "2025-03-08T16:00:00+01:00",
        "nombre_personnes_attendues": 200,
        "nombre_personnes_declarees": None,
        "nombre_voitures_attendues": None,
        "nombre_voitures_declarees": None,
        "statut_organisateur": "association",
        "emprise": {
            "type": "Polygon",
            "coordinates": [
                [[5.3799, 43.2900], [5.3806, 43.2900], [5.3806, 43.2905], [5.3799, 43.2905], [5.3799, 43.2900]]
            ],
        },
    },
    "operation_programmee": {
        "id": "PP-2025-000003",
        "type": "operation_programmee",
        **_ENV,
        "objet": "Contrôle des commerces",
        "description_observations": "Opération conjointe",
        "adresses": ["Rue d'Aubagne, 13001 Marseille", ROME],
        "date_debut": "2025-03-08T09:00:00+01:00",
        "date_fin": "2025-03-08T12:00:00+01:00",
        "theme": "CODAF",
    },
    "visite_officielle": {
        "id": "PP-2025-000004",
        "type": "visite_officielle",
        **_ENV,
        "objet": "Visite ministérielle",
        "description_observations": None,
        "adresses": ["Quai du Port, 13002 Marseille"],
        "date_debut": "2025-03-08T11:00:00+01:00",
        "date_fin": "2025-03-08T12:30:00+01:00",
    },
}


def write_csv(path: Path, source: str, rows: list[dict], encoding: str = "utf-8") -> Path:
    headers = next(c for c in load_contracts().values() if c.source == source).headers
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=headers, delimiter=";", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_json(path: Path, entries: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def landing_file(landing: Path, source: str, day: str) -> Path:
    ext = "json" if source == "cortege" else "csv"
    name = "prefecture" if source == "cortege" else source
    return landing / source / f"{name}_{day}.{ext}"
