"""From true events to landing records: the rows of the CSV exports (by contract field name) and
the ground-truth events table.

Every frame returned here has the contract's fields (strings, except longitude/latitude as
Float64 and integers as Int64) plus internal columns starting with `_`:
`_day` (file partition, AAAA-MM-JJ), `_t` (minutes since span start, for sorting and defects),
`_dup` (0 for an original row, 1 for a duplicate appended by the defects).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tranquillite.synthetic import config as C
from tranquillite.synthetic import texts as T
from tranquillite.synthetic.agenda import PlannedEvent
from tranquillite.synthetic.internal import CAUSES, SourceSim
from tranquillite.synthetic.space import Cameras, Space, jitter
from tranquillite.synthetic.timeprofile import TimeGrid

ID_PREFIX = {"interventions": "INT", "alertes_videoprotection": "CSU", "signalements": "SIG"}
DATE_FMT = "%d/%m/%Y %H:%M"

SUITES = [
    "Sans suite",
    "Rappel à la loi",
    "Verbalisation",
    "Mise en fourrière",
    "Interpellation et remise à OPJ",
    "Orientation vers un partenaire",
    "Intervention des secours",
]
SUITE_P = {
    "Tapage / nuisances sonores": [0.35, 0.45, 0.17, 0, 0.01, 0.02, 0],
    "Rixe / violences": [0.2, 0.15, 0.02, 0, 0.38, 0.05, 0.2],
    "Vol / atteinte aux biens": [0.35, 0.05, 0, 0, 0.35, 0.25, 0],
    "Dégradation": [0.45, 0.1, 0.05, 0, 0.2, 0.2, 0],
    "Ivresse sur la voie publique": [0.15, 0.2, 0.15, 0, 0.2, 0.05, 0.25],
    "Stationnement gênant": [0.1, 0.1, 0.6, 0.2, 0, 0, 0],
    "Occupation illicite de l'espace public": [0.25, 0.45, 0.25, 0, 0.02, 0.03, 0],
    "Accident de la circulation": [0.3, 0, 0.15, 0.05, 0.05, 0.05, 0.4],
    "Différend / litige": [0.4, 0.35, 0, 0, 0.05, 0.2, 0],
    "Vente à la sauvette": [0.2, 0.3, 0.4, 0, 0.1, 0, 0],
    "Dépôt sauvage": [0.4, 0.1, 0.3, 0, 0, 0.2, 0],
    "Assistance à personne": [0.3, 0, 0, 0, 0, 0.3, 0.4],
}
UNITES = [
    "Brigade de jour",
    "Brigade de nuit",
    "Unité motocycliste",
    "Brigade cynophile",
    "Brigade équestre",
    "Unité VTT",
    "Groupe de soutien et d'intervention",
    "Poste de police de secteur",
]
UNITE_DAY = [0.42, 0.0, 0.12, 0.03, 0.03, 0.08, 0.10, 0.22]
UNITE_NIGHT = [0.0, 0.62, 0.04, 0.12, 0.0, 0.0, 0.17, 0.05]
DURATION_MEDIAN_MIN = {
    "Stationnement gênant": 15,
    "Accident de la circulation": 45,
    "Rixe / violences": 50,
    "Assistance à personne": 40,
    "Vol / atteinte aux biens": 45,
}
CANAUX = ["Téléphone", "Application mobile", "Site internet", "Mairie de secteur", "Courrier"]
CANAL_P = [0.30, 0.35, 0.20, 0.10, 0.05]


def _frame(cols: dict[str, np.ndarray]) -> pl.DataFrame:
    """Object arrays become Utf8 columns (None = null), float arrays Float64 (NaN = null)."""
    out = {}
    for k, v in cols.items():
        if v.dtype == object:
            out[k] = pl.Series(k, v.tolist(), dtype=pl.Utf8)
        else:
            out[k] = pl.Series(k, v, dtype=pl.Float64).fill_nan(None)
    return pl.DataFrame(out)


def _pick(rng, probs_by_row: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw (rows of probabilities)."""
    cum = np.cumsum(probs_by_row, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(cum.shape[0])[:, None]
    return (u > cum).sum(axis=1)


def _phrases(rng, labels: np.ndarray, bank: dict[str, list[str]], share: float) -> np.ndarray:
    """A phrase of the label's bank for a `share` of the rows, None elsewhere (vectorised)."""
    flat, offset, size = [], {}, {}
    for k, v in bank.items():
        offset[k], size[k] = len(flat), len(v)
        flat.extend(v)
    flat_arr = np.array(flat, dtype=object)
    off = np.array([offset.get(x, 0) for x in _uniq(labels)], dtype=np.int64)
    siz = np.array([size.get(x, 1) for x in _uniq(labels)], dtype=np.int64)
    u_idx = np.unique(labels, return_inverse=True)[1]
    idx = off[u_idx] + (rng.random(labels.size) * siz[u_idx]).astype(np.int64)
    out = flat_arr[idx]
    out[rng.random(labels.size) >= share] = None
    return out


def _uniq(a: np.ndarray) -> list:
    return list(np.unique(a))


def _ids(prefix: str, years: np.ndarray) -> np.ndarray:
    """PREFIX-AAAA-NNNNNN, numbered per year in the (time-sorted) order of the rows."""
    n = years.size
    if n == 0:
        return np.array([], dtype=object)
    first = np.r_[0, np.flatnonzero(np.diff(years)) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    seq = np.arange(n) - starts + 1
    return np.array([f"{prefix}-{y}-{s:06d}" for y, s in zip(years, seq)], dtype=object)


def incident_records(
    sim: SourceSim, grid: TimeGrid, sp: Space, cams: Cameras | None, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(CSV records by contract field name, true events) of an incident source."""
    ev = sim.events
    n = ev["t"].size
    points = sim.support[ev["pos"]]
    labels = np.array([c.label for c in sim.cats], dtype=object)[ev["cat"]]
    local = grid.local(ev["t"])
    years = local.dt.year().to_numpy()
    ids = _ids(ID_PREFIX[sim.source], years)
    when = local.dt.strftime(DATE_FMT).to_numpy().astype(object)
    day = local.dt.strftime("%Y-%m-%d").to_numpy().astype(object)
    hour = local.dt.hour().to_numpy()
    if sim.source == "alertes_videoprotection":
        lon, lat = np.round(sp.lon[points], 6), np.round(sp.lat[points], 6)
    else:
        lon, lat = jitter(sp, points, rng)
    address = sp.address[points]
    postcode = np.array(["130" + i[-2:] for i in sp.insee[points]], dtype=object)

    if sim.source == "interventions":
        med = np.array([DURATION_MEDIAN_MIN.get(c.label, 30) for c in sim.cats], dtype="float64")[ev["cat"]]
        dur = np.clip(np.round(rng.lognormal(np.log(med), 0.6)), 5, 300).astype(np.int64)
        fin_local = grid.local(ev["t"] + dur)
        # on the DST fall-back night the wall clock goes back: keep fin >= debut on the wall clock
        naive_deb = local.dt.replace_time_zone(None)
        naive_fin = fin_local.dt.replace_time_zone(None)
        naive_fin = pl.select(
            pl.when(naive_fin < naive_deb).then(naive_deb + pl.duration(minutes=pl.Series(dur))).otherwise(naive_fin)
        ).to_series()
        fin = naive_fin.dt.strftime(DATE_FMT).to_numpy().astype(object)
        fin[rng.random(n) < 0.07] = None
        night = (hour >= 20) | (hour < 6)
        unite_p = np.where(night[:, None], np.array(UNITE_NIGHT)[None, :], np.array(UNITE_DAY)[None, :])
        suite_p = np.array([SUITE_P[c.label] for c in sim.cats], dtype="float64")[ev["cat"]]
        has_xy = rng.random(n) < C.SHARE_WITH_COORDS["interventions"]
        cp = postcode.copy()
        cp[rng.random(n) < 0.04] = None
        rec = _frame(
            {
                "id": ids,
                "categorie": labels,
                "debut": when,
                "fin": fin,
                "adresse": address,
                "code_postal": cp,
                "longitude": np.where(has_xy, lon, np.nan),
                "latitude": np.where(has_xy, lat, np.nan),
                "unite": np.array(UNITES, dtype=object)[_pick(rng, unite_p)],
                "suite": np.array(SUITES, dtype=object)[_pick(rng, suite_p)],
                "observations": _phrases(rng, labels, T.OBSERVATIONS_INTERVENTIONS, 0.55),
            }
        )
    elif sim.source == "alertes_videoprotection":
        cam_of_point = dict(zip(cams.point.tolist(), cams.ids.tolist()))
        rec = _frame(
            {
                "id": ids,
                "camera": np.array([cam_of_point[p] for p in points.tolist()], dtype=object),
                "categorie": labels,
                "date_heure": when,
                "adresse": address,
                "longitude": lon,
                "latitude": lat,
                "observations": _phrases(rng, labels, T.OBSERVATIONS_ALERTES, 0.4),
            }
        )
    else:
        canal_idx = rng.choice(len(CANAUX), size=n, p=CANAL_P)
        p_xy = np.where(canal_idx == 1, 0.95, 0.41)
        has_xy = rng.random(n) < p_xy
        cp = postcode.copy()
        cp[rng.random(n) < 0.10] = None
        rec = _frame(
            {
                "id": ids,
                "categorie": labels,
                "date_heure": when,
                "canal": np.array(CANAUX, dtype=object)[canal_idx],
                "adresse": address,
                "code_postal": cp,
                "longitude": np.where(has_xy, lon, np.nan),
                "latitude": np.where(has_xy, lat, np.nan),
                "description": _phrases(rng, labels, T.DESCRIPTIONS_SIGNALEMENTS, 0.75),
            }
        )
    rec = rec.with_columns(pl.col("longitude").fill_nan(None), pl.col("latitude").fill_nan(None))
    rec = rec.with_columns(
        pl.Series("_day", day, dtype=pl.Utf8),
        pl.Series("_t", ev["t"], dtype=pl.Int64),
        pl.Series("_row", np.arange(n), dtype=pl.Int64),
        pl.lit(0, dtype=pl.Int8).alias("_dup"),
    )

    parent_id = np.where(ev["parent"] >= 0, ids[np.maximum(ev["parent"], 0)], None)
    surge_id = np.array(sim.surge_ids + [None], dtype=object)[ev["surge"]]
    truth = pl.DataFrame(
        {
            "source": pl.Series([sim.source] * n, dtype=pl.Utf8),
            "record_id": pl.Series(ids.tolist(), dtype=pl.Utf8),
            "timestamp": local,
            "lon": lon,
            "lat": lat,
            "h3_cell": pl.Series(sp.cells[sp.cell[points]].tolist(), dtype=pl.Utf8),
            "category": pl.Series(labels.tolist(), dtype=pl.Utf8),
            "parent_id": pl.Series(parent_id.tolist(), dtype=pl.Utf8),
            "generation": pl.Series(ev["gen"], dtype=pl.Int32),
            "cause": pl.Series(np.array(CAUSES, dtype=object)[ev["cause"]].tolist(), dtype=pl.Utf8),
            "surge_event_id": pl.Series(surge_id.tolist(), dtype=pl.Utf8),
        }
    )
    return rec, truth


def agenda_records(agenda: list[PlannedEvent], rng: np.random.Generator) -> pl.DataFrame:
    """Rows of `evenements_publics`, one per event, in the file of its publication day."""
    n = len(agenda)
    has_xy = rng.random(n) < C.SHARE_WITH_COORDS["evenements_publics"]
    lon = np.array([round(e.place.lon, 6) for e in agenda], dtype="float64")
    lat = np.array([round(e.place.lat, 6) for e in agenda], dtype="float64")
    t0 = min((e.start for e in agenda), default=None)
    return pl.DataFrame(
        {
            "id": [e.id for e in agenda],
            "intitule": [e.intitule for e in agenda],
            "type_evenement": [e.type_evenement for e in agenda],
            "lieu": [e.lieu for e in agenda],
            "adresse": [e.place.address for e in agenda],
            "debut": [e.start.strftime(DATE_FMT) for e in agenda],
            "fin": [e.end.strftime(DATE_FMT) for e in agenda],
            "frequentation_attendue": pl.Series([e.attendance for e in agenda], dtype=pl.Int64),
            "longitude": pl.Series(np.where(has_xy, lon, np.nan)).fill_nan(None),
            "latitude": pl.Series(np.where(has_xy, lat, np.nan)).fill_nan(None),
            "_day": [e.published.isoformat() for e in agenda],
            "_t": pl.Series([int((e.start - t0).total_seconds() // 60) for e in agenda], dtype=pl.Int64),
            "_row": pl.Series(np.arange(n), dtype=pl.Int64),
            "_dup": pl.Series([0] * n, dtype=pl.Int8),
        },
        schema_overrides={
            "id": pl.Utf8,
            "intitule": pl.Utf8,
            "type_evenement": pl.Utf8,
            "lieu": pl.Utf8,
            "adresse": pl.Utf8,
            "debut": pl.Utf8,
            "fin": pl.Utf8,
            "_day": pl.Utf8,
            "longitude": pl.Float64,
            "latitude": pl.Float64,
        },
    )
