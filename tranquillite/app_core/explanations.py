"""The forecasts' explanations in words: a feature name and its value → a French phrase.

The models explain a cell's forecast by its largest contributions, each
`{"feature", "value", "contribution"}` (contribution to the log of the expected count). The names
are built in `tranquillite.forecasting` — `features.py` (`{g}_28d_same`, `{g}_nb_7d`, calendar
columns, `lead`), `exposure.py` (`ev_{kind}_r{ring}`, `ev_n_r0`) and `multiscale.py`
(`taux_4sem`, `voisins_r1_52sem`, `densite_400m_4sem`, `sepp_excitation`, `toutes_4sem`) — and
read here by pattern, so « alertes_videoprotection_28d_same = 66 » reads « 66 alertes de
vidéoprotection sur ce créneau horaire les 4 dernières semaines ». The sources' names come from
their contracts (`tranquillite.sources`); a name no pattern knows is shown as it is.
"""

from __future__ import annotations

import json
import math
import re

from tranquillite import sources as S
from tranquillite.app_core import formats as F
from tranquillite.settings import settings

WINDOWS = {  # state windows of features.py: the period in words
    "lag1": "sur le créneau précédent",
    "1d": "les dernières 24 heures",
    "7d": "les 7 derniers jours",
    "28d": "les 4 dernières semaines",
    "ly": "la même semaine l'an dernier",
    "28d_same": "sur ce créneau horaire les 4 dernières semaines",
    "84d_same": "sur ce créneau horaire les 12 dernières semaines",
    "nb_1d": "dans les cellules voisines les dernières 24 heures",
    "nb_7d": "dans les cellules voisines les 7 derniers jours",
    "nb_84d": "dans les cellules voisines les 12 dernières semaines",
}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
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
)
FLAGS = {  # calendar flags: (when 1, when 0)
    "ferie": ("jour férié", "jour non férié"),
    "veille_ferie": ("veille de jour férié", "pas une veille de jour férié"),
    "vacances": ("vacances scolaires", "hors vacances scolaires"),
}


def _items(code: str) -> tuple[str, str]:
    """A source's record in words, singular and plural (« alerte de vidéoprotection », « …s »)."""
    item = S.items().get(code)
    if not item:
        return "fait", "faits"
    one = item[0].lower() + item[1:]
    return one, F.pluralise(one)


def _count(v: float, code: str | None = None) -> str:
    one, many = _items(code) if code else ("fait", "faits")
    return F.plural(v, one, many)


def _weeks(w: int) -> str:
    return "la dernière semaine" if w == 1 else "sur l'année écoulée" if w == 52 else f"les {w} dernières semaines"


def _kind_label(kind: str) -> str:
    """An exposure kind: a planned source, or `<source>_<value of its type>` (evenements_publics_concert)."""
    labels = S.labels()
    if kind in labels:
        return labels[kind].lower()
    for code in sorted(labels, key=len, reverse=True):
        if kind.startswith(code + "_"):
            value = kind[len(code) + 1 :].replace("_", " ")
            return f"{labels[code].lower()} « {'autre type' if value == 'autre' else value} »"
    return kind.replace("_", " ")


def _shift(k: int) -> str:
    hours = settings().shift_hours
    if 0 <= k < len(hours):
        return f"créneau de {hours[k]:02d}h à {hours[(k + 1) % len(hours)]:02d}h"
    return f"créneau n° {k + 1}"


def feature_phrase(name: str, value) -> str | None:
    """The phrase of one feature and its value, or None when no pattern knows the name."""
    v = value if isinstance(value, (int, float)) and math.isfinite(value) else None
    groups = sorted(S.fact_sources(), key=len, reverse=True)
    for g in groups:
        if name.startswith(g + "_"):
            window = name[len(g) + 1 :]
            if window in WINDOWS and v is not None:
                return f"{_count(v, g)} {WINDOWS[window]}"
            if window == "rate_same" and v is not None:
                one, many = _items(g)
                return f"{F.compact(v)} {one if abs(v) < 2 else many} en moyenne par créneau horaire de ce type sur l'année écoulée"
            return None
    if v is None:
        return None
    if name == "weekday" and 0 <= int(v) <= 6:
        return f"un {WEEKDAYS[int(v)]}"
    if name == "month" and 1 <= int(v) <= 12:
        return f"en {MONTHS[int(v) - 1]}"
    if name == "kind":
        return _shift(int(v))
    if name in FLAGS:
        return FLAGS[name][0 if v else 1]
    if name == "lead":
        return f"prévision à {F.plural(v, 'créneau', 'créneaux')} d'avance"
    if name == "ev_n_r0":
        return f"{F.plural(v, 'événement prévu', 'événements prévus')} dans la cellule"
    m = re.fullmatch(r"ev_(.+)_r(\d+)", name)
    if m:
        where = "dans la cellule" if m.group(2) == "0" else f"à {F.plural(int(m.group(2)), 'cellule')} de distance"
        return f"{_kind_label(m.group(1))} {where} (exposition {F.compact(v)})"
    m = re.fullmatch(r"taux_(\d+)sem", name)
    if m:
        return f"{F.plural(v, 'fait')} par jour en moyenne dans la cellule {_weeks(int(m.group(1)))}"
    if name == "taux_historique":
        return f"{F.plural(v, 'fait')} par jour en moyenne dans la cellule sur tout l'historique"
    m = re.fullmatch(r"voisins_r(\d+)_(\d+)sem", name)
    if m:
        return (
            f"{F.plural(v, 'fait')} par jour en moyenne dans les cellules à {F.plural(int(m.group(1)), 'cellule')} "
            f"de distance {_weeks(int(m.group(2)))}"
        )
    m = re.fullmatch(r"densite_(\d+)m_(\d+)sem", name)
    if m:
        return f"densité des faits dans un rayon de {F.integer(int(m.group(1)))} m {_weeks(int(m.group(2)))} : {F.compact(v)}"
    if name == "sepp_excitation":
        return f"répétition attendue après les faits récents (processus auto-excitant) : {F.compact(v)}"
    m = re.fullmatch(r"toutes_(\d+)sem", name)
    if m:
        return f"{F.plural(v, 'fait')} par jour, toutes catégories, {_weeks(int(m.group(1)))}"
    return None


def effect(contribution) -> str:
    """How much a feature moves the forecast: « ×1,28 », « ÷2,5 », beyond ten « ×plus de 10 »."""
    if not isinstance(contribution, (int, float)) or not math.isfinite(contribution):
        return ""
    factor = math.exp(max(min(contribution, 50.0), -50.0))
    if factor >= 10:
        return "×plus de 10"
    if factor <= 0.1:
        return "÷plus de 10"
    return f"×{F.number(factor)}" if factor >= 1 else f"÷{F.number(1 / factor)}"


def explain(text: str | None) -> str:
    """The published explanations of a cell, in words: parsed when valid JSON, as they are otherwise."""
    if text is None or not text.strip() or text.strip() == "[]":
        return ""
    try:
        items = json.loads(text)
    except ValueError:
        return text
    if not isinstance(items, list):
        return text
    parts = []
    for it in items:
        if isinstance(it, dict) and "feature" in it:
            name, v = str(it["feature"]), it.get("value")
            phrase = feature_phrase(name, v)
            if phrase is None:
                phrase = name + (
                    f" = {F.compact(v, 3)}" if isinstance(v, (int, float)) else f" = {v}" if v is not None else ""
                )
            e = effect(it.get("contribution"))
            parts.append(f"{phrase} ({e})" if e else phrase)
        else:
            parts.append(json.dumps(it, ensure_ascii=False))
    return " ; ".join(parts)
