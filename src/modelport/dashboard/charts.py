"""Line charts as plain SVG geometry, drawn by the templates: no plotting library, no script.

A chart is a few polylines in a fixed box; the page's stylesheet colours them by series
index, so the Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Chart", "Line", "line_chart"]

WIDTH, HEIGHT = 420, 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 8, 10, 22
_DOTS = 40


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    index: int
    """Series number: the stylesheet's colour class ``s{index % 6}``."""
    points: str
    """SVG ``points`` attribute: ``x,y x,y ...``."""
    last: str
    """The newest value, formatted."""
    dots: tuple[tuple[str, str], ...] = ()
    """Points marked with a dot: all of them when few (a lone point shows), else the newest."""


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    unit: str
    lines: tuple[Line, ...]
    top: str
    """The y-axis maximum, formatted."""
    start: str
    end: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    right: int = WIDTH - _RIGHT
    top_y: int = _TOP
    bottom_y: int = HEIGHT - _BOTTOM

    @property
    def empty(self) -> bool:
        return not self.lines


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


Series = Sequence[tuple[str, Sequence[tuple[float, float | None]]]]


def line_chart(title: str, unit: str, series: Series, *, start: float, end: float) -> Chart:
    """``series``: (label, [(unix time, value or None), ...]); None leaves a gap unjoined."""
    values = [v for _, pts in series for _, v in pts if v is not None]
    top = max(values) * 1.1 if values and max(values) > 0 else 1.0
    span = max(end - start, 1e-9)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    lines = []
    for index, (label, pts) in enumerate(series):
        coords = [
            f"{_LEFT + plot_w * (t - start) / span:.1f},{_TOP + plot_h * (1 - v / top):.1f}"
            for t, v in pts if v is not None and t >= start
        ]
        if not coords:
            continue
        last = next((v for _, v in reversed(pts) if v is not None), None)
        marked = coords if len(coords) <= _DOTS else coords[-1:]
        lines.append(Line(label, index, " ".join(coords),
                          "-" if last is None else f"{_fmt(last)}{unit}",
                          tuple((c.split(",")[0], c.split(",")[1]) for c in marked)))
    return Chart(title=title, unit=unit, lines=tuple(lines), top=f"{_fmt(top)}{unit}",
                 start=time.strftime("%H:%M:%S", time.gmtime(start)),
                 end=time.strftime("%H:%M:%S", time.gmtime(end)))
