"""Days with no data received, on hand-made data: the state windows reaching into them are
unknown (null, never 0), the yearly rate is over the received days, the baselines look at
received slots only, and the feature panel tells a gap (filled) from a lost day (refused)."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps

from tranquillite.forecasting import baselines as B
from tranquillite.forecasting.counts import COUNT_SCHEMA
from tranquillite.forecasting.features import state_features
from tranquillite.forecasting.gaps import complete_panel, describe, missing_days, observed_slots
from tranquillite.forecasting.slots import SlotScheme

SCH = SlotScheme((6, 14, 22))
D0 = date(2025, 1, 6)
S = SCH.first_slot(D0)
LINE = sps.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
RECEIVED = [D0 + timedelta(days=i) for i in list(range(10)) + [15, 16]]  # days 10–14: nothing arrived


def _counts() -> pl.DataFrame:
    """One fact in cell 0 in every shift of every received day."""
    rows = [("a", 0, SCH.first_slot(d) + k, 1, ["internal"]) for d in RECEIVED for k in range(3)]
    return pl.DataFrame(rows, schema=["group", "cell_idx", "slot", "n", "conventions"], orient="row").cast(COUNT_SCHEMA)


def _state(st, slot, col):
    return st.filter((pl.col("cell_idx") == 0) & (pl.col("slot") == slot))[col].item()


def test_windows_reaching_a_day_not_received_are_unknown():
    obs = observed_slots(RECEIVED, SCH, S, 17 * 3)
    st = state_features(_counts(), 3, ["a"], SCH, S, S + 17 * 3 - 1, S, LINE, obs)
    first_after = SCH.first_slot(D0 + timedelta(days=15))
    for col in ("a_lag1", "a_1d", "a_7d", "a_nb_1d"):
        assert _state(st, first_after, col) is None, col  # reaches day 14: unknown, not 0
    assert _state(st, first_after + 1, "a_lag1") == 1  # the previous shift was received
    assert _state(st, SCH.first_slot(D0 + timedelta(days=9)) + 2, "a_1d") == 3  # before the gap: known
    # one fact per received morning: the rate is 1, not diluted by the 5 days that never arrived
    assert _state(st, first_after, "a_rate_k0") == pytest.approx(1.0)
    # without the received days, the gap reads as days without facts (what happened before)
    blind = state_features(_counts(), 3, ["a"], SCH, S, S + 17 * 3 - 1, S, LINE)
    assert _state(blind, first_after, "a_lag1") == 0 and _state(blind, first_after, "a_rate_k0") < 0.7


def test_gaps_are_described_in_words():
    gaps = missing_days(RECEIVED, D0, D0 + timedelta(days=16))
    assert len(gaps) == 5 and describe(gaps) == ["2025-01-16 → 2025-01-20 (5 j)"]


def test_the_panel_is_completed_for_a_gap_and_refused_for_a_lost_day():
    obs = observed_slots(RECEIVED, SCH, S, 17 * 3)
    st = state_features(_counts(), 3, ["a"], SCH, S, S + 17 * 3 - 1, S, LINE, obs)
    kept = st.filter(~(pl.col("slot") // 3).is_in([(S // 3) + i for i in range(10, 15)]))  # no features there
    panel, filled = complete_panel(kept, 3, SCH, RECEIVED)
    assert len(filled) == 5 and panel.height == st.height
    assert panel.filter(pl.col("slot") == SCH.first_slot(D0 + timedelta(days=12)))["a_7d"].null_count() == 3
    lost = kept.filter((pl.col("slot") // 3) != (S // 3) + 3)  # a received day
    with pytest.raises(ValueError, match="jours reçus.*2025-01-09"):
        complete_panel(lost, 3, SCH, RECEIVED)


def test_baselines_look_at_received_slots_only():
    Y = np.zeros((1, 60))
    seen = np.ones(60, dtype=bool)
    seen[33:57] = False  # eight days not received just before the origin 57
    Y[0, 32] = 2  # the last received shift
    Y[0, 57 - 42] = 3  # the same shift two weeks before the origin
    assert B.last_period(Y, 57, 1, seen).tolist() == [[2.0]]
    assert B.last_period(Y, 57, 1).tolist() == [[0.0]]  # the gap read as "nothing"
    # the same shift 1 week before falls in the gap: ignored, not averaged as a 0
    assert B.seasonal_average(Y, 57, 1, 21, n_weeks=2, seen=seen).tolist() == [[3.0]]
    assert B.seasonal_average(Y, 57, 1, 21, n_weeks=2).tolist() == [[1.5]]
    K = sps.identity(1, format="csr")
    assert B.retrospective_hotspot(Y, 57, 1, K, 30, seen).sum() == pytest.approx(2 / 6)  # 2 facts / 6 shifts seen
    assert B.retrospective_hotspot(Y, 57, 1, K, 30).sum() == pytest.approx(2 / 30)
