"""A synthetic world to test the feedback-loop audit (issue 13; Ensign et al. 2018, "Runaway
feedback loops in predictive policing"; Lum & Isaac 2016).

Each cell has a true risk; three streams are recorded each period:

* reported facts (citizens, CSU): Poisson(risk × reported_rate), independent of the patrols;
* police responses to calls (non-enforcement interventions): Poisson(risk × response_rate), idem;
* enforcement-driven interventions (drunkenness, street selling, parking…): discovered only where
  police are, Poisson(risk × enforcement_rate × (base_presence + patrol_boost × patrolled)).

Patrols go to the champion's top `coverage` cells each period; the champion is the trailing count
(all the recorded history) of what it is trained on, retrained each period. History starts with a
biased period (patrols in `biased_zone` only: the city centre is where observation was densest).
Modes: `boucle` (trained on everything recorded, the loop), `signale` (mitigation a: reported facts
only), `sans_initiative` (mitigation b: the enforcement-driven categories excluded).

The concentration is the audit's own figure (`feedback.dissimilarity`): how far the flagged
area's share per zone is from the zones' share of reported facts. A runaway: that index stays
high at the end (mean of the last third of the periods above `runaway_level`) — the flagged area
locked onto where patrols went first, whatever the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tranquillite.forecasting.feedback import dissimilarity, jaccard, slope, top_cells, zone_shares

MODES = ("boucle", "signale", "sans_initiative")


@dataclass(frozen=True)
class World:
    n_zones: int = 8
    cells_per_zone: int = 50
    periods: int = 30
    coverage: float = 0.1
    reported_rate: float = 0.5
    response_rate: float = 0.5
    enforcement_rate: float = 1.0
    base_presence: float = 0.1
    patrol_boost: float = 3.0
    biased_zone: int = 0
    runaway_level: float = 0.25
    seed: int = 0


def simulate(world: World, mode: str) -> dict:
    """Run the world in one mode: per period the flagged mask's concentration (dissimilarity vs the
    reported facts' zone shares, and vs the true risk's), the share of flagged cells that are among
    the truly riskiest, and the stability (Jaccard with the previous period)."""
    if mode not in MODES:
        raise ValueError(f"mode inconnu: {mode} (attendu: {', '.join(MODES)})")
    rng = np.random.default_rng(world.seed)
    n = world.n_zones * world.cells_per_zone
    zone = np.repeat(np.arange(world.n_zones), world.cells_per_zone)
    risk = rng.gamma(2.0, 0.5, size=n)
    true_top = top_cells(risk, world.coverage)
    risk_share = np.bincount(zone, weights=risk, minlength=world.n_zones) / risk.sum()
    # the biased first period: patrols in one zone
    patrol = np.zeros(n, dtype=bool)
    patrol[rng.choice(np.flatnonzero(zone == world.biased_zone), size=true_top.sum(), replace=False)] = True
    reported_hist = np.zeros(n)
    train = np.zeros(n)
    d_rep, d_true, precision, stability = [], [], [], []
    prev = patrol
    for _t in range(world.periods):
        rep = rng.poisson(risk * world.reported_rate)
        resp = rng.poisson(risk * world.response_rate)
        enf = rng.poisson(risk * world.enforcement_rate * (world.base_presence + world.patrol_boost * patrol))
        reported_hist += rep
        train += {"boucle": rep + resp + enf, "signale": rep, "sans_initiative": rep + resp}[mode]
        patrol = top_cells(train, world.coverage)
        fs = zone_shares(patrol, zone, world.n_zones)
        rep_z = np.bincount(zone, weights=reported_hist, minlength=world.n_zones)
        d_rep.append(dissimilarity(fs, rep_z / rep_z.sum()))
        d_true.append(dissimilarity(fs, risk_share))
        precision.append(float((patrol & true_top).sum() / max(patrol.sum(), 1)))
        stability.append(jaccard(patrol, prev))
        prev = patrol
    tail = max(1, world.periods // 3)
    final = float(np.mean(d_rep[-tail:]))
    return {
        "mode": mode,
        "dissimilarity": d_rep,
        "dissimilarity_vs_truth": d_true,
        "precision": precision,
        "stability": stability,
        "final_dissimilarity": final,
        "drift": slope(d_rep),
        "final_precision": float(np.mean(precision[-tail:])),
        "runaway": final > world.runaway_level,
    }


def compare(world: World) -> dict[str, dict]:
    """The three modes on the same world (same seed: the same true risks)."""
    return {m: simulate(world, m) for m in MODES}
