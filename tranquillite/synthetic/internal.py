"""The three incident sources of the City (interventions, CSU alerts, citizens' reports) as a
spatio-temporal point process, simulated in a vectorised way.

For every category the background intensity is separable: a static weight per street point
(population density × hotspots) times an hourly profile (hour × weekday × month × holidays), plus
a summer beach component. Planned events add multiplicative surges (matches, big concerts and
festivals, demonstrations) on the points near them during their hours. Every event then spawns
Poisson(α) offspring (near-repeat, Hawkes-like), generation by generation, with truncated
exponential delays at street points within 300 m.

A share of every category's background is carried by transient hot spots that appear and fade
(`config.TRANSIENT`): each is a Gaussian bump around a street point, of one category, whose
intensity rises and fades as sin² over a life of 1 to 12 weeks (a Cox component: it is part of the
true `background`, unknown to a forecaster until it shows in the counts).

The ground truth (expected counts per H3 cell and 8-hour slot) is computed from the same
quantities (see `SourceSim.truth`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sps
import shapely
from scipy.spatial import cKDTree

from tranquillite.synthetic import config as C
from tranquillite.synthetic.agenda import PlannedEvent, surge_factor
from tranquillite.synthetic.prefecture import Entry
from tranquillite.synthetic.space import Space, beach_weights, category_weights, neighbours, to_metric
from tranquillite.synthetic.timeprofile import TimeGrid

CAUSES = ("background", "surge", "offspring", "transient")


@dataclass(frozen=True)
class Surge:
    """A planned event's multiplicative surge: intensity × (1 + k × multiplier) on its points."""

    event_id: str
    kind: str
    start: int  # minutes since span start (window, before/after included)
    end: int
    points: np.ndarray  # Space point indices in the zone
    k: float


def build_surges(grid: TimeGrid, sp: Space, agenda: list[PlannedEvent], entries: list[Entry]) -> list[Surge]:
    """Surges of the events of the span: matches, big concerts and festivals, demonstrations."""
    out: list[Surge] = []
    t0, t1 = grid.t0, grid.t_end
    for e in agenda:
        if e.surge is None or not (t0 <= e.start < t1):
            continue
        p = C.SURGES[e.surge]
        k = surge_factor(e.surge, e.attendance)
        if k <= 0:
            continue
        s = grid.minutes_of(e.start) - int(p["before_h"] * 60)
        en = grid.minutes_of(e.end) + int(p["after_h"] * 60)
        out.append(
            Surge(
                e.id,
                e.surge,
                max(0, s),
                min(grid.span_minutes, en),
                sp.near(e.place.lon, e.place.lat, p["radius_m"]),
                k,
            )
        )
    p = C.SURGES["manifestation"]
    pts_geom = _point_tree(sp)
    for e in entries:
        if e.record_type not in ("manifestation_deambulatoire", "manifestation_statique"):
            continue
        if not (t0 <= e.start < t1) or not e.attendance:
            continue
        k = surge_factor("manifestation", e.attendance)
        if k <= 0:
            continue
        if e.line is not None and len(e.line) > 1:
            x, y = to_metric(e.line[:, 0], e.line[:, 1])
            geom = shapely.linestrings(np.column_stack([x, y]))
        else:
            lon, lat = e.point if e.point is not None else (e.line[0, 0], e.line[0, 1])
            x, y = to_metric([lon], [lat])
            geom = shapely.points(x[0], y[0])
        idx = np.sort(pts_geom.query(geom, predicate="dwithin", distance=p["radius_m"]))
        s = grid.minutes_of(e.start) - int(p["before_h"] * 60)
        en = grid.minutes_of(e.end) + int(p["after_h"] * 60)
        out.append(Surge(e.id, "manifestation", max(0, s), min(grid.span_minutes, en), idx.astype(np.int64), k))
    return [s for s in out if s.end > s.start and s.points.size]


_TREE: dict[int, shapely.STRtree] = {}


def _point_tree(sp: Space) -> shapely.STRtree:
    key = id(sp)
    if key not in _TREE:
        _TREE[key] = shapely.STRtree(shapely.points(sp.x, sp.y))
    return _TREE[key]


@dataclass
class SourceSim:
    """Simulation of one source: its support, intensities, sampled events and ground truth."""

    source: str
    support: np.ndarray  # Space point indices where events of the source can happen
    cats: list
    W: np.ndarray  # n_cat x m, each row sums to 1
    H: np.ndarray  # n_cat x n_hours, expected background counts
    WB: np.ndarray | None  # m, beach weights (None if no beach in the support)
    HB: np.ndarray  # n_cat x n_hours, expected beach counts
    alpha: float
    HT: np.ndarray = field(default=None)  # n_cat x n_hours, expected counts of the transient hot spots
    cells: np.ndarray = field(default=None)  # support cells (Space cell indices), sorted
    cell_of_pos: np.ndarray = field(default=None)  # support position -> row of `cells`
    events: dict[str, np.ndarray] = field(default_factory=dict)
    background: np.ndarray = field(default=None)  # n_cells x n_slots
    excitation: np.ndarray = field(default=None)
    excitation_intra: np.ndarray = field(default=None)
    surge_ids: list[str] = field(default_factory=list)


def simulate(
    source: str,
    grid: TimeGrid,
    sp: Space,
    support: np.ndarray,
    surges: list[Surge],
    scale: float,
    rng: np.random.Generator,
) -> SourceSim:
    """Build the intensities of a source on its support, then sample its events and truth."""
    cats = C.CATEGORIES[source]
    alpha = C.ALPHA[source]
    W = np.vstack([category_weights(sp, c.mix)[support] for c in cats])
    W /= W.sum(axis=1, keepdims=True)
    wb = beach_weights(sp)[support]
    WB = wb / wb.sum() if wb.sum() > 0 else None
    per_hour = C.PER_YEAR[source] * scale * (1.0 - alpha) / (365.25 * 24.0) * _BG_ADJUST[source]
    transient = C.TRANSIENT.get(source, {"share": 0.0})["share"]
    H = np.zeros((len(cats), grid.n_hours))
    HB = np.zeros((len(cats), grid.n_hours))
    beach_profile = grid.profile("plage", "flat", "plage", holidays_matter=False)
    for i, c in enumerate(cats):
        r = grid.profile(c.shape, c.weekend, c.season)
        H[i] = per_hour * c.share * (1.0 - c.beach) * r
        if WB is not None and c.beach > 0:
            HB[i] = per_hour * c.share * c.beach * beach_profile
    HT = H * transient
    H = H - HT
    cells, cell_of_pos = np.unique(sp.cell[support], return_inverse=True)
    sim = SourceSim(source, support, cats, W, H, WB, HB, alpha, HT, cells, cell_of_pos)
    _sample(sim, grid, sp, surges, rng)
    return sim


#: background rates are lowered a little so that surges do not inflate the yearly volumes
_BG_ADJUST = {"interventions": 0.97, "alertes_videoprotection": 0.95, "signalements": 0.985}


def _draw_component(H_row: np.ndarray, W_row: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(H_row)
    n = int(counts.sum())
    hours = np.repeat(np.arange(H_row.size, dtype=np.int64), counts)
    t = hours * 60 + rng.integers(0, 60, n)
    pos = rng.choice(W_row.size, size=n, p=W_row)
    return t, pos


def _transient(
    sim: SourceSim, grid: TimeGrid, sp: Space, rng: np.random.Generator, B: np.ndarray
) -> tuple[list, list, list]:
    """Sample the transient hot spots of a source and add their exact expected counts to `B`
    (cells x slots). Returns the lists (t, pos, cat) of their events."""
    T, P, K = [], [], []
    par = C.TRANSIENT.get(sim.source)
    if sim.HT is None or par is None or not sim.HT.any():
        return T, P, K
    n_h = grid.n_hours
    lo_w, hi_w = C.TRANSIENT_LIFE_WEEKS
    life_max = int(hi_w * 168)
    n = int(rng.poisson(par["per_year"] * (n_h + life_max) / (365.25 * 24.0)))
    birth = rng.integers(-life_max, n_h, n)
    life = np.maximum(24, np.round(168.0 * np.exp(rng.uniform(np.log(lo_w), np.log(hi_w), n)))).astype(np.int64)
    live = birth + life > 0
    birth, life = birth[live], life[live]
    n = birth.size
    totals = sim.HT.sum(axis=1)
    cat = rng.choice(totals.size, size=n, p=totals / totals.sum())
    size = rng.lognormal(0.0, C.TRANSIENT_SIZE_SIGMA, n)
    sigma = np.exp(rng.uniform(*np.log(C.TRANSIENT_SIGMA_M), n))
    base = sp.base[sim.support]
    new_place = rng.random(n) < C.TRANSIENT_NEW_PLACES
    u = rng.random(n)
    cum_base = np.cumsum(base) / base.sum()
    cum_w = np.cumsum(sim.W, axis=1)
    cum_w /= cum_w[:, -1:]
    centre = np.where(
        new_place,
        np.searchsorted(cum_base, u),
        np.array([np.searchsorted(cum_w[c], x) for c, x in zip(cat, u)], dtype=np.int64),
    )
    centre = np.minimum(centre, sim.support.size - 1)
    xs, ys = sp.x[sim.support], sp.y[sim.support]
    tree = cKDTree(np.column_stack([xs, ys]))
    prof = sim.HT / np.maximum(sim.HT.mean(axis=1, keepdims=True), 1e-300)  # hourly shape of each category
    # raw hourly rates (size x rise-and-fade envelope x the category's hourly shape), then scaled per
    # category so that the expected transient volume of a category is exactly its share of the background
    hours, raw = [], np.zeros(n)
    for f in range(n):
        h = np.arange(max(0, birth[f]), min(n_h, birth[f] + life[f]))
        env = np.sin(np.pi * (h - birth[f] + 0.5) / life[f]) ** 2
        rate = size[f] * env * prof[cat[f], h]
        hours.append((h, rate))
        raw[f] = rate.sum()
    scale_cat = np.zeros(totals.size)
    raw_cat = np.bincount(cat, weights=raw, minlength=totals.size)
    has = raw_cat > 0
    scale_cat[has] = totals[has] / raw_cat[has]
    for i in np.flatnonzero(~has):  # a category without any foyer keeps its volume in the background
        B += np.outer(
            np.bincount(sim.cell_of_pos, weights=sim.W[i], minlength=B.shape[0]),
            np.bincount(grid.hour_slot, weights=sim.HT[i], minlength=B.shape[1]),
        )
        t, pos = _draw_component(sim.HT[i], sim.W[i], rng)
        T.append(t)
        P.append(pos)
        K.append(np.full(t.size, i))
    for f in range(n):
        h, rate = hours[f]
        if h.size == 0:
            continue
        rate = rate * scale_cat[cat[f]]
        pts = np.sort(
            np.asarray(tree.query_ball_point([xs[centre[f]], ys[centre[f]]], r=3.0 * sigma[f]), dtype=np.int64)
        )
        w = np.exp(-((xs[pts] - xs[centre[f]]) ** 2 + (ys[pts] - ys[centre[f]]) ** 2) / (2.0 * sigma[f] ** 2))
        w /= w.sum()
        counts = rng.poisson(rate)
        m = int(counts.sum())
        if m:
            T.append(np.repeat(h, counts) * 60 + rng.integers(0, 60, m))
            P.append(pts[rng.choice(pts.size, size=m, p=w)])
            K.append(np.full(m, cat[f]))
        ucells, cinv = np.unique(sim.cell_of_pos[pts], return_inverse=True)
        uslots, sinv = np.unique(grid.hour_slot[h], return_inverse=True)
        B[np.ix_(ucells, uslots)] += np.outer(
            np.bincount(cinv, weights=w, minlength=ucells.size), np.bincount(sinv, weights=rate, minlength=uslots.size)
        )
    return T, P, K


def _sample(sim: SourceSim, grid: TimeGrid, sp: Space, surges: list[Surge], rng: np.random.Generator) -> None:
    n_cat = len(sim.cats)
    n_cells, n_slots = sim.cells.size, grid.n_slots
    hour_slot = grid.hour_slot
    T, P, K, CAUSE, SURGE = [], [], [], [], []

    # ---------------------------------------------------------------- background (+ beach)
    cell_w = np.zeros((n_cat, n_cells))
    slot_h = np.zeros((n_cat, n_slots))
    for i in range(n_cat):
        t, pos = _draw_component(sim.H[i], sim.W[i], rng)
        T.append(t)
        P.append(pos)
        K.append(np.full(t.size, i))
        CAUSE.append(np.zeros(t.size, np.int8))
        SURGE.append(np.full(t.size, -1))
        cell_w[i] = np.bincount(sim.cell_of_pos, weights=sim.W[i], minlength=n_cells)
        slot_h[i] = np.bincount(hour_slot, weights=sim.H[i], minlength=n_slots)
    B = cell_w.T @ slot_h
    if sim.WB is not None and sim.HB.any():
        beach_cells = np.bincount(sim.cell_of_pos, weights=sim.WB, minlength=n_cells)
        for i in range(n_cat):
            if not sim.HB[i].any():
                continue
            t, pos = _draw_component(sim.HB[i], sim.WB, rng)
            T.append(t)
            P.append(pos)
            K.append(np.full(t.size, i))
            CAUSE.append(np.zeros(t.size, np.int8))
            SURGE.append(np.full(t.size, -1))
        B += np.outer(beach_cells, np.bincount(hour_slot, weights=sim.HB.sum(axis=0), minlength=n_slots))

    # ---------------------------------------------------------------- transient hot spots
    tt, tp, tk = _transient(sim, grid, sp, rng, B)
    for t, pos, k in zip(tt, tp, tk):
        T.append(t)
        P.append(pos)
        K.append(k)
        CAUSE.append(np.full(t.size, 3, np.int8))
        SURGE.append(np.full(t.size, -1))

    # ---------------------------------------------------------------- surges
    pos_of_point = np.full(int(sim.support.max()) + 1 if sim.support.size else 1, -1, dtype=np.int64)
    pos_of_point[sim.support] = np.arange(sim.support.size)
    src_f = C.SURGE_SOURCE_FACTOR[sim.source]
    for si, s in enumerate(surges):
        pts = s.points[s.points < pos_of_point.size]
        pos = pos_of_point[pts]
        pos = np.sort(pos[pos >= 0])
        if pos.size == 0:
            continue
        h0, h1 = s.start // 60, -(-s.end // 60)
        hours = np.arange(h0, min(h1, grid.n_hours))
        lo = np.maximum(hours * 60, s.start)
        hi = np.minimum(hours * 60 + 60, s.end)
        frac = (hi - lo) / 60.0
        mult = np.array([s.k * src_f * c.surge.get(s.kind, 1.0) for c in sim.cats])
        Wp = sim.W[:, pos]  # n_cat x |P|
        Ht = (sim.H[:, hours] + sim.HT[:, hours]) * frac  # n_cat x |T|: a surge scales the usual level of the place
        expected = mult * Wp.sum(axis=1) * Ht.sum(axis=1)
        counts = rng.poisson(expected)
        for i in np.flatnonzero(counts):
            n = int(counts[i])
            ph = Ht[i] / Ht[i].sum()
            hidx = rng.choice(hours.size, size=n, p=ph)
            t = lo[hidx] + (rng.random(n) * (hi[hidx] - lo[hidx])).astype(np.int64)
            pw = Wp[i] / Wp[i].sum()
            T.append(t)
            P.append(pos[rng.choice(pos.size, size=n, p=pw)])
            K.append(np.full(n, i))
            CAUSE.append(np.ones(n, np.int8))
            SURGE.append(np.full(n, si))
        # truth: exact expected surge counts per cell and slot
        ucells, cinv = np.unique(sim.cell_of_pos[pos], return_inverse=True)
        uslots, sinv = np.unique(hour_slot[hours], return_inverse=True)
        cw = np.zeros((n_cat, ucells.size))
        sh = np.zeros((n_cat, uslots.size))
        for i in range(n_cat):
            cw[i] = np.bincount(cinv, weights=Wp[i] * mult[i], minlength=ucells.size)
            sh[i] = np.bincount(sinv, weights=Ht[i], minlength=uslots.size)
        B[np.ix_(ucells, uslots)] += cw.T @ sh
    sim.background = B
    sim.surge_ids = [s.event_id for s in surges]

    t = np.concatenate(T).astype(np.int64)
    pos = np.concatenate(P).astype(np.int64)
    cat = np.concatenate(K).astype(np.int64)
    cause = np.concatenate(CAUSE)
    surge = np.concatenate(SURGE).astype(np.int64)
    gen = np.zeros(t.size, np.int64)
    parent = np.full(t.size, -1, np.int64)

    # ---------------------------------------------------------------- near-repeat offspring
    indptr, indices = neighbours(sim.support)
    mu, dmax = C.DELAY_MEAN_H * 60.0, C.DELAY_MAX_H * 60.0
    norm = 1.0 - np.exp(-dmax / mu)
    cur = np.arange(t.size)
    for g in range(1, C.MAX_GENERATION + 1):
        n_off = rng.poisson(sim.alpha, cur.size)
        par = np.repeat(cur, n_off)
        if par.size == 0:
            break
        u = rng.random(par.size)
        delay = np.maximum(1, np.round(-mu * np.log1p(-u * norm))).astype(np.int64)
        tc = t[par] + delay
        deg = indptr[pos[par] + 1] - indptr[pos[par]]
        pc = indices[indptr[pos[par]] + (rng.random(par.size) * deg).astype(np.int64)]
        keep = tc < grid.span_minutes
        par, tc, pc = par[keep], tc[keep], pc[keep]
        start = t.size
        t = np.concatenate([t, tc])
        pos = np.concatenate([pos, pc])
        cat = np.concatenate([cat, cat[par]])
        cause = np.concatenate([cause, np.full(par.size, 2, np.int8)])
        surge = np.concatenate([surge, np.full(par.size, -1)])
        gen = np.concatenate([gen, np.full(par.size, g)])
        parent = np.concatenate([parent, par])
        cur = np.arange(start, t.size)

    # deterministic order: time, place, category, generation
    order = np.lexsort((gen, cat, pos, t))
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    parent = parent[order]
    parent = np.where(parent >= 0, inv[np.maximum(parent, 0)], -1)
    sim.events = {
        "t": t[order],
        "pos": pos[order],
        "cat": cat[order],
        "gen": gen[order],
        "parent": parent,
        "cause": cause[order],
        "surge": surge[order],
    }
    sim.excitation, sim.excitation_intra = _excitation_truth(sim, grid, indptr, indices)


def _excitation_truth(
    sim: SourceSim, grid: TimeGrid, indptr: np.ndarray, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected offspring per cell and slot: from parents before the slot start (`excitation`)
    and from parents inside the slot (`excitation_intra`)."""
    ev = sim.events
    able = ev["gen"] < C.MAX_GENERATION
    t = ev["t"][able].astype("float64")
    pos = ev["pos"][able]
    mu, dmax = C.DELAY_MEAN_H * 60.0, C.DELAY_MAX_H * 60.0
    norm = 1.0 - np.exp(-dmax / mu)

    def F(d):
        d = np.clip(d, 0.0, dmax)
        return (1.0 - np.exp(-d / mu)) / norm

    bounds = np.minimum(grid.slot_bounds, grid.span_minutes).astype("float64")
    n_slots = grid.n_slots
    s0 = grid.slot_of(ev["t"][able])
    intra = sim.alpha * F(bounds[s0 + 1] - t)
    max_ahead = int(np.ceil(dmax / (7 * 60))) + 2
    rows, cols, vals = [], [], []
    for j in range(1, max_ahead + 1):
        s = s0 + j
        ok = s < n_slots
        s_ok = s[ok]
        v = sim.alpha * (F(bounds[s_ok + 1] - t[ok]) - F(bounds[s_ok] - t[ok]))
        nz = v > 0
        rows.append(pos[ok][nz])
        cols.append(s_ok[nz])
        vals.append(v[nz])
    m = sim.support.size
    A_prior = sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n_slots))
    A_intra = sps.csr_matrix((intra, (pos, s0)), shape=(m, n_slots))
    # offspring place: uniform among the neighbours within 300 m -> cell distribution per parent place
    deg = np.diff(indptr)
    Kmat = sps.csr_matrix(
        (np.repeat(1.0 / deg, deg), (np.repeat(np.arange(m), deg), sim.cell_of_pos[indices])), shape=(m, sim.cells.size)
    )
    prior = (Kmat.T @ A_prior).toarray()
    intra_m = (Kmat.T @ A_intra).toarray()
    return prior, intra_m


def truth_frame(sim: SourceSim, grid: TimeGrid, sp: Space) -> pl.DataFrame:
    """intensity rows of one source: every support cell × every slot of the span."""
    n_cells, n_slots = sim.cells.size, grid.n_slots
    cells = pl.Series(sp.cells[sim.cells].astype(str), dtype=pl.Utf8)
    rows = pl.Series(np.repeat(np.arange(n_cells, dtype=np.int64), n_slots))
    return pl.DataFrame(
        {
            "source": pl.repeat(sim.source, n_cells * n_slots, dtype=pl.Utf8, eager=True),
            "h3_cell": cells.gather(rows),  # not an array of n_cells × n_slots strings built in numpy
            "slot_start": pl.concat([grid.slot_start_local] * n_cells),
            "background": sim.background.ravel(),
            "excitation": sim.excitation.ravel(),
            "excitation_intra": sim.excitation_intra.ravel(),
        }
    )
