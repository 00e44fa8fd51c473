"""The catalogue of bad landing inputs: one case per row, each a real file of `bad_inputs/`.

Read a row as: "this file, dropped in `landing/<source>/`, holds `counted` records (counted by
the independent counter, not by the parser); `clean` of them reach the clean tables, the others
are quarantined with these reasons (one code per quarantined record, in line order) or counted
as exact duplicates; the file is reported with these issues". Every case lands on its own day,
next to a valid companion file of the same source (`complement_<day>`), which must be ingested.

Files that are generated rather than stored (too big to commit) have a `make` function.
See `bad_inputs/README.md` for the same table in French, for the data team.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from tests.factories import VALID

BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"
FIRST_DAY = date(2025, 4, 1)


def _one_megabyte_field(path: Path) -> None:
    """Three interventions, the second with a 1 MB Observations (over the csv module's limit)."""
    header = ";".join(VALID["interventions"])
    rows = []
    for i, obs in ((1, "RAS"), (2, "x" * 1_000_000), (3, "RAS")):
        v = {**VALID["interventions"], "N° intervention": f"INT-{i}", "Observations": obs}
        rows.append(";".join(v.values()))
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    counted: int  # records found by the independent counter
    clean: int  # records reaching the clean tables
    reasons: tuple[str, ...] = ()  # reason code of each quarantined record, in line order
    duplicates: int = 0
    issues: tuple[str, ...] = ()  # file issue kinds reported in governance.landing_files
    make: Callable[[Path], None] | None = field(default=None, compare=False)
    note: str = ""

    @property
    def ext(self) -> str:
        return "json" if self.source == "cortege" else "csv"

    @property
    def stored(self) -> Path:
        return BAD_INPUTS / self.source / f"{self.name}.{self.ext}"

    def write(self, landing: Path, day: str) -> Path:
        """Put the case file in the landing zone under its day: `<source>/<name>_<day>.<ext>`."""
        path = landing / self.source / f"{self.name}_{day}.{self.ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.make is not None:
            self.make(path)
        else:
            path.write_bytes(self.stored.read_bytes())
        return path


CASES: list[Case] = [
    # ---- CSV structure (the issue's cases first)
    Case(
        "guillemet_non_ferme",
        "interventions",
        counted=5,
        clean=4,
        reasons=("guillemet_non_ferme",),
        issues=("lecture_divergente",),
        note="row 2 opens a quote never closed: the csv reader swallowed rows 3-5 into its Observations",
    ),
    Case(
        "deux_guillemets_non_fermes",
        "interventions",
        counted=5,
        clean=3,
        reasons=("guillemet_non_ferme", "guillemet_non_ferme"),
        issues=("lecture_divergente",),
    ),
    Case(
        "guillemet_isole",
        "interventions",
        counted=5,
        clean=5,
        note="a quote inside an unquoted field is a literal character (RFC 4180)",
    ),
    Case(
        "champ_multiligne",
        "interventions",
        counted=3,
        clean=2,
        reasons=("date_invalide",),
        note="a quoted field spans lines 2-3: the bad record after it is physical line 4",
    ),
    Case(
        "multiligne_en_quarantaine",
        "interventions",
        counted=3,
        clean=2,
        reasons=("valeur_hors_enumeration",),
        note="a two-line record is quarantined whole, its embedded newline kept in raw",
    ),
    Case(
        "guillemets_echappes", "interventions", counted=3, clean=3, note='quoted fields with ";" and doubled quotes ""'
    ),
    Case("crlf_bom", "interventions", counted=2, clean=2, note="CRLF line ends, UTF-8 BOM, no final newline"),
    Case("lignes_vides", "interventions", counted=2, clean=2, note="blank and separator-only lines carry no record"),
    Case(
        "champ_1_mo",
        "interventions",
        counted=3,
        clean=2,
        reasons=("champ_trop_long",),
        issues=("champ_trop_long",),
        make=_one_megabyte_field,
        note="a 1 MB field: 'field larger than field limit' stopped the whole day",
    ),
    Case("ligne_irreguliere", "interventions", counted=3, clean=2, reasons=("nombre_de_colonnes_incorrect",)),
    Case(
        "colonnes_inattendues",
        "interventions",
        counted=1,
        clean=1,
        issues=("colonnes_manquantes", "colonnes_inattendues"),
    ),
    # ---- encodings and empty files
    Case(
        "ligne_windows_1252",
        "interventions",
        counted=3,
        clean=2,
        reasons=("encodage_invalide",),
        issues=("encodage_invalide",),
    ),
    Case(
        "fichier_windows_1252",
        "interventions",
        counted=2,
        clean=0,
        reasons=("encodage_invalide", "encodage_invalide"),
        issues=("encodage_invalide", "entete_illisible"),
    ),
    Case("fichier_vide", "interventions", counted=0, clean=0, issues=("fichier_vide",)),
    Case("entete_seul", "interventions", counted=0, clean=0),
    # ---- duplicates
    Case("doublon_exact", "interventions", counted=3, clean=2, duplicates=1),
    Case("identifiant_duplique", "interventions", counted=3, clean=2, reasons=("identifiant_duplique",)),
    # ---- plausible values (contract bounds)
    Case(
        "annee_9999",
        "interventions",
        counted=3,
        clean=2,
        reasons=("date_hors_bornes",),
        note="year 9999 crashed the Préfecture reader's map",
    ),
    Case(
        "coordonnees_nan_inf",
        "interventions",
        counted=4,
        clean=2,
        reasons=("valeur_invalide", "valeur_invalide"),
        note="NaN and inf coordinates were stored",
    ),
    Case("coordonnees_hors_bornes", "interventions", counted=2, clean=1, reasons=("valeur_hors_bornes",)),
    Case("frequentation_negative", "evenements_publics", counted=2, clean=1, reasons=("valeur_hors_bornes",)),
    Case(
        "crs_inconnu",
        "incidents",
        counted=4,
        clean=2,
        reasons=("crs_inconnu", "format_invalide"),
        note="EPSG:99999 failed clean_incidents for every record",
    ),
    # ---- JSON (Cortège)
    Case(
        "entries_chaine",
        "cortege",
        counted=1,
        clean=0,
        reasons=("entrees_non_liste",),
        issues=("entrees_non_liste",),
        note='{"entries": "abc"} gave 3 records',
    ),
    Case(
        "entries_nombre",
        "cortege",
        counted=1,
        clean=0,
        reasons=("entrees_non_liste",),
        issues=("entrees_non_liste",),
        note='{"entries": 5} crashed raw/cortege',
    ),
    Case(
        "utf16",
        "cortege",
        counted=2,
        clean=2,
        issues=("encodage_utf16",),
        note="UTF-16 JSON turned two entries into one",
    ),
    Case("windows_1252", "cortege", counted=1, clean=1, issues=("encodage_invalide",)),
    Case("json_tronque", "cortege", counted=3, clean=2, reasons=("json_invalide",), issues=("json_invalide",)),
    Case("enveloppe_tronquee", "cortege", counted=3, clean=2, reasons=("json_invalide",), issues=("json_invalide",)),
    Case("entree_non_objet", "cortege", counted=4, clean=2, reasons=("entree_non_objet", "entree_non_objet")),
    Case("json_vide", "cortege", counted=0, clean=0, issues=("fichier_vide",)),
    Case("objet_unique", "cortege", counted=1, clean=1),
    Case("enveloppe", "cortege", counted=2, clean=2),
    Case("annee_9999", "cortege", counted=2, clean=1, reasons=("date_hors_bornes",)),
    Case("nombre_negatif", "cortege", counted=2, clean=1, reasons=("valeur_hors_bornes",)),
    Case("type_inconnu", "cortege", counted=2, clean=1, reasons=("type_entree_inconnu",)),
]

# files that cannot be given a daily partition: (path under landing/, expected words of the reason)
UNASSIGNED: list[tuple[str, str]] = [
    ("interventions/export_sans_date.csv", "aucune date"),
    ("interventions/interventions_2026-02-31.csv", "date impossible"),
    ("cortege/prefecture_2099-01-01.json", "après la dernière partition"),
    ("signalements/signalements_2024-12-31.csv", "avant la première partition"),
]


def day_of(case: Case) -> str:
    return (FIRST_DAY + timedelta(days=CASES.index(case))).isoformat()
