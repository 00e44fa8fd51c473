"""Colour scales of the map layers, and their legends — from one object, so they cannot disagree.

A `ColourScale` turns the values of a layer (facts per hexagon, expected facts per cell, tension
index) into RGBA colours (`rgba`) and gives the legend of those same colours (`legend`: the value
at each step and the colour `rgba` gives it). Every hexagon layer of the app (Carte, Prévisions,
Zones de tension) colours its cells with `rgba` and shows `legend_html` under the map.

The ramp is ColorBrewer's YlOrRd (sequential, readable in grey and by colour-blind readers);
`transform` says how values spread on it: `linear` (an index on a fixed 0–100), `log` (counts
whose city centre would otherwise wash out the rest), `sqrt` (expected counts).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from tranquillite.app_core import formats as F

YLORRD = ((255, 255, 204), (254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38))


@dataclass(frozen=True)
class ColourScale:
    name: str  # the layer's name, the legend's title
    unit: str  # what a value counts, in words (« faits », « points d'indice »)
    top: float  # the value drawn with the last colour of the ramp
    transform: str = "linear"  # linear | log | sqrt
    bottom: float = 0.0  # the value drawn with the first colour
    digits: int = 0  # decimals of the legend's values
    alpha: tuple[int, int] = (90, 230)  # opacity at the bottom and at the top
    ramp: tuple[tuple[int, int, int], ...] = YLORRD
    note: str = ""  # one line under the legend (e.g. what the outline means)

    def _t(self, x: np.ndarray) -> np.ndarray:
        if self.transform == "log":
            return np.log1p(np.maximum(x, 0.0))
        if self.transform == "sqrt":
            return np.sqrt(np.maximum(x, 0.0))
        return x

    def position(self, values) -> np.ndarray:
        """Where each value lies on the ramp, 0 (bottom) to 1 (top), clipped."""
        x = np.nan_to_num(np.asarray(values, dtype=float))
        lo, hi = self._t(np.array([self.bottom, self.top], dtype=float))
        if hi <= lo:
            return np.ones_like(x) if x.size else x
        return np.clip((self._t(x) - lo) / (hi - lo), 0.0, 1.0)

    def rgba(self, values) -> np.ndarray:
        """RGBA (integers 0–255) of each value: the ramp interpolated, more opaque as it rises."""
        pos = self.position(values)
        stops = np.linspace(0.0, 1.0, len(self.ramp))
        ramp = np.asarray(self.ramp, dtype=float)
        rgb = np.column_stack([np.interp(pos, stops, ramp[:, k]) for k in range(3)])
        alpha = self.alpha[0] + (self.alpha[1] - self.alpha[0]) * pos
        return np.rint(np.column_stack([rgb, alpha])).astype(int).reshape(-1, 4)

    def steps(self, n: int = 5) -> list[float]:
        """`n` values evenly spread on the ramp (back from the transform), bottom and top included,
        rounded to the legend's decimals, without repeats (a small top gives fewer steps)."""
        lo, hi = self._t(np.array([self.bottom, self.top], dtype=float))
        pos = np.linspace(lo, hi, max(n, 2))
        if self.transform == "log":
            vals = np.expm1(pos)
        elif self.transform == "sqrt":
            vals = pos**2
        else:
            vals = pos
        out: list[float] = []
        for v in vals:
            r = round(float(v), self.digits)
            if not out or r > out[-1]:
                out.append(r)
        return out

    def legend(self, n: int = 5) -> list[tuple[float, tuple[int, int, int, int]]]:
        """(value, its RGBA) for each step of the legend — the colours `rgba` draws."""
        values = self.steps(n)
        return [(v, tuple(int(c) for c in rgba)) for v, rgba in zip(values, self.rgba(values))]

    def legend_html(self, n: int = 5) -> str:
        """The legend as HTML for `st.markdown(…, unsafe_allow_html=True)`: the layer's name, one
        swatch per step with its value in French."""
        items = []
        for v, (r, g, b, a) in self.legend(n):
            items.append(
                f"<span style='white-space:nowrap;margin-right:0.9em'>"
                f"<span data-legende='{r},{g},{b},{a}' style='display:inline-block;width:1.6em;"
                f"height:0.9em;vertical-align:middle;border:1px solid #999;"
                f"background:rgba({r},{g},{b},{a / 255:.2f})'></span> {F.number(v, self.digits)}</span>"
            )
        note = f"<br/><small>{html.escape(self.note)}</small>" if self.note else ""
        return (
            f"<div class='tq-legende'><b>{html.escape(self.name)}</b> ({html.escape(self.unit)}): "
            + "".join(items)
            + note
            + "</div>"
        )


def swatch_html(label: str, rgba, count: int | None = None, shape: str = "square") -> str:
    """One entry of a categorical legend (a source's colour), with its count when given."""
    r, g, b, a = (list(rgba) + [255])[:4]
    radius = "50%" if shape == "circle" else "2px"
    height = "0.35em" if shape == "line" else "0.9em"
    tail = f" : {F.integer(count)}" if count is not None else ""
    return (
        f"<span style='white-space:nowrap;margin-right:0.9em'><span data-legende='{r},{g},{b},{a}' "
        f"style='display:inline-block;width:1.2em;height:{height};vertical-align:middle;border-radius:{radius};"
        f"background:rgba({r},{g},{b},{a / 255:.2f})'></span> {html.escape(label)}{tail}</span>"
    )
