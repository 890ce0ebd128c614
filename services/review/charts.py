"""Charts drawn on the server as inline SVG: no script, nothing to load, printable.

:func:`monthly_bars` lays out findings per month, stacked by kind; the template draws
the rectangles it returns. Every month between the first and the last is a bar, empty or
not, so that the gaps in time show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 760, 220
LEFT, BOTTOM, TOP = 36, 36, 10
#: Kinds in stacking order, bottom first, with their fill colours.
KINDS = (("violation", "#b3261e"), ("indicator", "#e0a33b"))


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Rect, ...]
    x_labels: tuple[Tick, ...]
    y_labels: tuple[Tick, ...]
    #: (kind, colour) for the legend.
    legend: tuple[tuple[str, str], ...]
    empty: bool


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def _step(top: int) -> int:
    """A round gridline step giving at most about four lines up to ``top``."""
    step = 1
    while top / step > 4:
        for factor in (2, 5, 10):
            if top / (step * factor) <= 4:
                return step * factor
        step *= 10
    return step


def monthly_bars(counts: Sequence[tuple[date, str, int]]) -> Chart:
    """Findings per month (first day of the month, kind, count), stacked by kind."""
    legend = KINDS
    if not counts:
        return Chart(WIDTH, HEIGHT, (), (), (), legend, True)
    months = _months(min(m for m, _, _ in counts), max(m for m, _, _ in counts))
    per: dict[date, dict[str, int]] = {m: {} for m in months}
    for m, kind, n in counts:
        per[m][kind] = per[m].get(kind, 0) + n
    top = max(sum(k.values()) for k in per.values()) or 1
    step = _step(top)
    top = -(-top // step) * step
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bar_w = max(slot * 0.7, 1.0)
    bars, x_labels = [], []
    every = max(1, round(len(months) / 12))
    for i, m in enumerate(months):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base: float = TOP + plot_h
        for kind, colour in KINDS:
            n = per[m].get(kind, 0)
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            bars.append(
                Rect(
                    round(x, 1),
                    round(base, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    colour,
                    f"{m:%Y-%m}: {n} {kind}{'s' if n != 1 else ''}",
                )
            )
        if i % every == 0:
            x_labels.append(Tick(round(x + bar_w / 2, 1), HEIGHT - BOTTOM + 14, f"{m:%Y-%m}"))
    y_labels = tuple(
        Tick(LEFT - 4, round(TOP + plot_h - plot_h * v / top, 1), str(v))
        for v in range(0, top + 1, step)
    )
    return Chart(WIDTH, HEIGHT, tuple(bars), tuple(x_labels), y_labels, legend, False)
