"""Features per cell × slot, and the rows the models learn from.

**State features** (`state_features`) describe a cell at the *start* of a slot, from the facts
strictly before it — each window's sum a difference of cumulative sums over the counts, taken at
the slots asked only (the daily forecast's last slots, or a training range), with a year of
history before them (`HISTORY_DAYS`, derived from the windows):

* `{g}_lag1`, `{g}_1d`, `{g}_7d`, `{g}_28d`: facts of group g in the last shift, day, week,
  4 weeks;
* `{g}_28d_k{k}`, `{g}_84d_k{k}`: the same restricted to shifts of kind k (night, morning, …)
  over 4 and 12 weeks; `{g}_rate_k{k}`: mean per shift of kind k over the last year (or since
  the data start);
* `{g}_ly`: the same week last year (the 7 days starting 364 days before);
* `{g}_nb_1d`, `{g}_nb_7d`, `{g}_nb_84d`: facts in the 6 neighbouring cells (H3 ring k = 1),
  for near-repeat effects;

a window that reaches before the data start, or into a day with no data received
(`forecasting.gaps`), is null (unknown), never 0; the yearly rates are over the received days.
Calendar and planned-event exposure are joined per target slot.

**Model rows** (`model_rows`): a forecast for target slot `s` issued at origin `o` takes the state
of the cell at `o` (nothing after `o`), the calendar of `s`, the lead `s - o`, and the planned
events touching the cell during `s` *known at `o`*. Same-kind columns are resolved against the
target's shift kind (`{g}_28d_same`, `{g}_84d_same`, `{g}_rate_same`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tranquillite.forecasting import conventions as CV
from tranquillite.forecasting.calendar import CALENDAR_COLUMNS, calendar
from tranquillite.forecasting.counts import dense
from tranquillite.forecasting.exposure import exposure_columns, exposure_features
from tranquillite.forecasting.gaps import missing_in_window
from tranquillite.forecasting.slots import SlotScheme
from tranquillite.forecasting.study_area import AreaSpec


def windows(n: int) -> dict[str, tuple[int, int]]:
    """The windows of the state features for `n` shifts a day: name → (length, shift) in slots,
    the window of slot i covering the slots i - shift - length + 1 .. i - shift."""
    return {
        "lag1": (1, 1),
        "1d": (n, 1),
        "7d": (7 * n, 1),
        "28d": (28 * n, 1),
        "84d": (84 * n, 1),
        "ly": (7 * n, 357 * n + 1),
        "year": (364 * n, 1),
    }


# the longest look-back of a window, in days (the same week last year and the yearly rate: 364);
# every window but the last shift's scales with the shifts a day, so one shift a day tells it
LOOKBACK_DAYS = max(w + s - 1 for w, s in windows(1).values())
HISTORY_DAYS = LOOKBACK_DAYS + 7  # the history read before a slot: the longest window, a week of margin
UNKNOWN_WINDOWS = ("lag1", "1d", "7d", "28d", "84d", "ly")  # the yearly rate is over the received slots


def state_columns(groups: list[str], n_kinds: int) -> list[str]:
    cols = []
    for g in groups:
        cols += [f"{g}_lag1", f"{g}_1d", f"{g}_7d", f"{g}_28d", f"{g}_ly"]
        cols += [f"{g}_28d_k{k}" for k in range(n_kinds)] + [f"{g}_84d_k{k}" for k in range(n_kinds)]
        cols += [f"{g}_rate_k{k}" for k in range(n_kinds)]
        cols += [f"{g}_nb_1d", f"{g}_nb_7d", f"{g}_nb_84d"]
    return cols


def neighbour_matrix(pairs: pl.DataFrame, n_cells: int):
    """Sparse adjacency (ring k = 1) from `grid.disk_pairs(cells, 1)`."""
    import scipy.sparse as sps

    p = pairs.filter(pl.col("dist") == 1)
    return sps.csr_matrix(
        (np.ones(p.height, dtype=np.float32), (p["cell_idx"].to_numpy(), p["nbr_idx"].to_numpy())),
        shape=(n_cells, n_cells),
    )


def _unknown_windows(observed: np.ndarray | None, data_start_slot: int, start: int, T: int, n: int) -> dict:
    """Per window of the state features, for each panel slot: does it reach a slot not received?
    (empty when every slot was received)"""
    if observed is None:
        return {}
    obs = np.ones(T, dtype=bool)
    k = min(T, max(0, observed.size - (start - data_start_slot)))
    obs[:k] = observed[start - data_start_slot : start - data_start_slot + k]
    if obs.all():
        return {}
    miss = ~obs
    win = windows(n)
    return {
        "obs": obs,
        **{
            name: missing_in_window(miss, win[name][0] + win[name][1] - 1, win[name][1]) > 0 for name in UNKNOWN_WINDOWS
        },
    }


def _cumsum(a: np.ndarray, pad: int) -> np.ndarray:
    """Cumulative sums along the last axis after `pad` + 1 zeros (float64: exact on counts): the
    sum of the first x values is at `pad + x`, 0 down to x = -pad."""
    out = np.zeros(a.shape[:-1] + (pad + a.shape[-1] + 1,), dtype=np.float64)
    np.cumsum(a, axis=-1, dtype=np.float64, out=out[..., pad + 1 :])
    return out


def state_features(
    counts: pl.DataFrame,
    n_cells: int,
    groups: list[str],
    scheme: SlotScheme,
    first_slot: int,
    last_slot: int,
    data_start_slot: int,
    neighbours,
    observed: np.ndarray | None = None,
) -> pl.DataFrame:
    """State of every cell at the start of every slot first_slot..last_slot (inclusive).

    `counts`: sparse (group, cell_idx, slot, n) — only slots before `last_slot` are used;
    `data_start_slot`: the first slot covered by data (earlier windows are unknown → null);
    `neighbours`: `neighbour_matrix(...)`;
    `observed`: for the slots from `data_start_slot` on, whether their day was received
    (`forecasting.gaps.observed_slots`; None or slots past its end: received).

    Each window sum is a difference of two cumulative sums over the history (`HISTORY_DAYS`
    before `first_slot`, from the data start at the earliest), taken at the slots asked only: the
    daily forecast's few slots cost one pass over a year of counts, the training's whole range
    one pass over its own. A window starting before the history read is unknown (null), as is
    one reaching a slot not received (`_unknown_windows`)."""
    n = scheme.n
    hist = HISTORY_DAYS * n
    start = max(int(data_start_slot), int(first_slot) - hist)
    first_slot = max(int(first_slot), start)
    T = int(last_slot) - start + 1
    if T <= 0 or n_cells == 0:
        return pl.DataFrame(schema={"cell_idx": pl.Int32, "slot": pl.Int64})
    cols = state_columns(groups, n)
    i0 = first_slot - start  # the slots asked are the panel positions i0 .. T - 1
    n_out = max(0, T - i0)
    i = np.arange(i0, i0 + n_out, dtype=np.int64)
    win = windows(n)
    pad = max(0, max(w + s - 1 for w, s in win.values()) - i0)  # zeros before the panel: every window's start
    Y = dense(counts, groups, n_cells, start, T)
    kind = np.arange(start, start + T, dtype=np.int64) % n
    unknown = _unknown_windows(observed, int(data_start_slot), start, T, n)

    def at(C: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The cumulative sums at the end and at the start of a window, at the slots asked (views:
        the window sum is their difference; before the panel, the sum is 0)."""
        w, s = win[name]
        hi = pad + i0 - s + 1
        return C[..., hi : hi + n_out], C[..., hi - w : hi - w + n_out]

    # a window that starts before the panel is unknown (the yearly rate: over the panel's part),
    # as is one reaching a slot not received
    mask = {name: i - win[name][1] - win[name][0] + 1 >= 0 for name in UNKNOWN_WINDOWS}
    if unknown:
        mask = {name: m & ~unknown[name][i] for name, m in mask.items()}
    year_valid = i - win["year"][1] >= 0
    received = unknown["obs"] if unknown else np.ones(T, dtype=bool)
    seen = [_cumsum(((kind == k) & received).astype(np.float64), pad) for k in range(n)]  # kind-k slots received
    data: dict[str, np.ndarray | pl.Series] = {}

    def put(name: str, C: np.ndarray, window: str) -> None:
        v = np.empty((n_cells, n_out), dtype=np.float32)
        np.subtract(*at(C, window), out=v, casting="same_kind")
        bad = ~mask[window]
        if bad.any():
            v[:, bad] = np.nan
        data[name] = v.ravel()

    for g_i, g in enumerate(groups):
        C = _cumsum(Y[g_i], pad)
        for name in ("lag1", "1d", "7d", "28d", "ly"):
            put(f"{g}_{name}", C, name)
        del C
        for k in range(n):
            Ck = _cumsum(np.where((kind == k)[None, :], Y[g_i], 0.0), pad)
            put(f"{g}_28d_k{k}", Ck, "28d")
            put(f"{g}_84d_k{k}", Ck, "84d")
            hi, lo = at(seen[k], "year")
            den = hi - lo
            rate = np.empty((n_cells, n_out), dtype=np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: NaN, as before
                np.divide(np.subtract(*at(Ck, "year")), den[None, :], out=rate, casting="same_kind")
            # no window yet (the first slot) or, with days not received, no received slot of that kind: unknown
            ok = year_valid & (den > 0) if unknown else year_valid
            data[f"{g}_rate_k{k}"] = (
                pl.Series(rate.ravel())
                if ok.all()
                else pl.select(pl.when(pl.Series(np.tile(ok, n_cells))).then(pl.Series(rate.ravel()))).to_series()
            )
            del Ck
        C = _cumsum(neighbours @ Y[g_i], pad)
        for name, window in (("nb_1d", "1d"), ("nb_7d", "7d"), ("nb_84d", "84d")):
            put(f"{g}_{name}", C, window)
        del C
    del Y
    frame = pl.DataFrame(
        {
            "cell_idx": np.repeat(np.arange(n_cells, dtype=np.int32), n_out),
            "slot": np.tile(start + i, n_cells),
            **{c: data[c] if isinstance(data[c], pl.Series) else pl.Series(data[c], nan_to_null=True) for c in cols},
        }
    )
    casts = [pl.col(c).cast(pl.Float32) if "_rate_" in c else pl.col(c).cast(pl.UInt16) for c in cols]
    return frame.select("cell_idx", "slot", *casts)


def model_feature_columns(spec: AreaSpec, scheme: SlotScheme, with_events: bool) -> list[str]:
    cols = []
    for g in spec.groups:
        cols += [
            f"{g}_lag1",
            f"{g}_1d",
            f"{g}_7d",
            f"{g}_28d",
            f"{g}_ly",
            f"{g}_28d_same",
            f"{g}_84d_same",
            f"{g}_rate_same",
            f"{g}_nb_1d",
            f"{g}_nb_7d",
            f"{g}_nb_84d",
        ]
    cols += CALENDAR_COLUMNS + ["lead"]
    if with_events:
        cols += exposure_columns(spec)
    return cols


class FeatureStore:
    """Dense state features (all cells × a contiguous slot range) with fast gathers by
    (cell, origin), plus the calendar and the exposure table."""

    def __init__(self, states: pl.DataFrame, n_cells: int, spec: AreaSpec, scheme: SlotScheme, exposure: pl.DataFrame):
        states = states.sort("cell_idx", "slot")
        self.s0 = int(states["slot"].min())
        self.s1 = int(states["slot"].max())
        self.T = self.s1 - self.s0 + 1
        if states.height != n_cells * self.T:
            raise ValueError(
                f"panel de caractéristiques incomplet: {states.height} lignes, "
                f"{n_cells} cellules × {self.T} créneaux attendus"
            )
        self.states = states
        self.n_cells = n_cells
        self.spec = spec
        self.scheme = scheme
        self.exposure = exposure
        self.cal = calendar(
            np.arange(self.s0, self.s1 + 8 * scheme.per_week, dtype=np.int64),
            scheme,
            spec.holidays_country,
            spec.school_holidays_subdivision,
        )

    def rows(
        self,
        cell_idx: np.ndarray,
        target: np.ndarray,
        origin: np.ndarray,
        with_events: bool,
        with_conventions: bool = False,
    ) -> pl.DataFrame:
        """Model rows; `with_conventions` adds `ev_conventions` (the conventions of the planned
        records known at the origin that touched each row), to be split off before fitting."""
        cell_idx = np.asarray(cell_idx, dtype=np.int64)
        target = np.asarray(target, dtype=np.int64)
        origin = np.asarray(origin, dtype=np.int64)
        if origin.size and (origin.min() < self.s0 or origin.max() > self.s1):
            raise ValueError("origine hors de la plage des caractéristiques")
        if np.any(target < origin):
            raise ValueError("une cible précède son origine")
        n = self.scheme.n
        st = self.states[cell_idx * self.T + (origin - self.s0)].with_columns(
            pl.Series("_kind", (target % n).astype(np.int8))
        )
        derived = []
        for g in self.spec.groups:
            for name in ("28d", "84d", "rate"):
                e = pl.col(f"{g}_{name}_k0")
                for k in range(1, n):
                    e = pl.when(pl.col("_kind") == k).then(pl.col(f"{g}_{name}_k{k}")).otherwise(e)
                derived.append(e.alias(f"{g}_{name}_same"))
        cal = self.cal[target - self.s0].select(CALENDAR_COLUMNS)
        parts = [st.with_columns(derived), cal, pl.DataFrame({"lead": (target - origin).astype(np.int16)})]
        if with_events:
            parts.append(
                exposure_features(
                    pl.DataFrame({"cell_idx": cell_idx.astype(np.int32), "target": target, "origin": origin}),
                    self.exposure,
                    self.spec,
                    with_conventions=with_conventions,
                )
            )
        df = pl.concat(parts, how="horizontal")
        extra = ["ev_conventions"] if with_conventions and with_events else []
        return df.select(model_feature_columns(self.spec, self.scheme, with_events) + extra)


def stored_features(
    states: pl.DataFrame, spec: AreaSpec, scheme: SlotScheme, exposure: pl.DataFrame, grid: pl.DataFrame
) -> pl.DataFrame:
    """The published `features.cell_slot` rows: state at the slot start, the slot's calendar and
    the planned events known at its start (lead 0), with each row's `conventions`: those of the
    groups counted and of the reference data (grid, calendar), plus those of the planned records
    that touched the cell during the slot and were known at its start."""
    slots = np.sort(states["slot"].unique().to_numpy())
    cal = calendar(slots, scheme, spec.holidays_country, spec.school_holidays_subdivision)
    ex = exposure_features(
        states.select("cell_idx", pl.col("slot").alias("target"), pl.col("slot").alias("origin")),
        exposure,
        spec,
        with_conventions=True,
    )
    base = CV.of_sources(spec.groups) + [CV.REFERENCE]
    ex = ex.with_columns(CV.union_rows(ex, ["ev_conventions"], base).alias("conventions")).drop("ev_conventions")
    out = pl.concat([states, ex], how="horizontal").join(cal, on="slot", how="left")
    out = out.join(grid.select("cell_idx", "h3_cell"), on="cell_idx", how="left")
    first = ["h3_cell", "cell_idx", "slot", "slot_start", *CALENDAR_COLUMNS]
    return out.select(first + [c for c in out.columns if c not in first]).sort("slot", "cell_idx")
