"""Small line charts drawn as inline SVG on the server: coordinates are computed here and the
template writes them into ``points``/``x``/``y`` attributes (no script, no style attribute: the
Content-Security-Policy allows neither)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class XLabel:
    text: str
    x: float
    anchor: str


@dataclass
class LineChart:
    """One series of counts over instants, on its own scale."""

    instants: Sequence[Any]
    values: Sequence[int]
    series: str = "series-a"  # the CSS class of the line (app.css: .chart .series-a / .series-b)
    width: int = 480
    height: int = 180
    left: int = 40
    right: int = 12
    top: int = 12
    bottom: int = 26
    ticks: list[Tick] = field(init=False)
    y_max: int = field(init=False)

    def __post_init__(self) -> None:
        self.y_max = _nice_ceiling(max([*self.values, 1]))
        step = self.y_max / 4
        self.ticks = [Tick(round(step * i), self._y(step * i)) for i in range(5)]

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    def _x(self, index: int) -> float:
        span = max(len(self.instants) - 1, 1)
        return round(self.left + (self.width - self.left - self.right) * index / span, 1)

    def _y(self, value: float) -> float:
        return round(self.top + (self.height - self.top - self.bottom) * (1 - value / self.y_max), 1)

    def _points(self, values: Sequence[int]) -> str:
        return " ".join(f"{self._x(i)},{self._y(v)}" for i, v in enumerate(values))

    @property
    def points(self) -> str:
        return self._points(self.values)

    @property
    def last(self) -> int:
        return self.values[-1] if self.values else 0

    @property
    def end_x(self) -> float:
        return self._x(len(self.values) - 1)

    @property
    def end_y(self) -> float:
        return self._y(self.last)

    @property
    def x_labels(self) -> list[XLabel]:
        """The first, middle and last instants, as dates."""
        last = len(self.instants) - 1
        picks = sorted({0, last // 2, last})
        anchors = {0: "start", last: "end"}
        return [XLabel(f"{self.instants[i]:%m-%d}", self._x(i), anchors.get(i, "middle")) for i in picks]



def _nice_ceiling(value: int) -> int:
    """Four equal, round steps that reach ``value``: 4 × the smallest 1, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k
    (a whole number) that is at least ``value / 4``."""
    quarter = max(value / 4, 1)
    magnitude = 10 ** math.floor(math.log10(quarter))
    for factor in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        step = factor * magnitude
        if step >= quarter and float(step).is_integer():
            return int(4 * step)
    return 40 * magnitude
