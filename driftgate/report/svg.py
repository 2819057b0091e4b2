"""Hand-written SVG charts: time series on a linear or log axis, with reference lines and error
bars, and a tiny paired bar. No plotting library and no script, so the report stays one static
file that any browser (or a mail client) shows as is. Tooltips are native SVG ``<title>``s."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Literal

HOUR = 3600.0
DAY = 24 * HOUR
# Candidate tick steps of the time axis, finest first.
_TIME_STEPS = (HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 365 * DAY)
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 24, 34, 40


@dataclass(frozen=True)
class Point:
    t: float  # epoch seconds
    y: float
    label: str  # tooltip text
    low: float | None = None  # error bar, drawn when both ends are given
    high: float | None = None
    emphasis: bool = False  # filled even in a hollow series (e.g. "drift detected")


@dataclass(frozen=True)
class Series:
    key: str  # data-series attribute, stable for tests and styling
    name: str  # legend text
    color: str
    points: Sequence[Point]
    line: bool = True
    filled: bool = True  # False: hollow markers unless the point is emphasised
    marker: Literal["circle", "square", "diamond"] = "circle"


@dataclass(frozen=True)
class RefLine:
    key: str
    y: float
    label: str
    color: str = "#444"


@dataclass(frozen=True)
class YAxis:
    lo: float
    hi: float
    ticks: Sequence[float]
    label: str
    log: bool = False
    fmt: Callable[[float], str] = field(default=lambda v: f"{v:g}")

    def fraction(self, value: float) -> float:
        """0 at the bottom, 1 at the top; values outside the axis are clamped to its ends."""
        if self.log:
            value, lo, hi = math.log10(max(value, 1e-12)), math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        return min(max((value - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.5


def linear_axis(values: Sequence[float], label: str, *, fmt: Callable[[float], str] | None = None) -> YAxis:
    """Round ticks (1, 2, 2.5 or 5 × 10^k) around the values; a flat series gets some room."""
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        pad = abs(lo) * 0.1 or 0.5
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if step / magnitude == 2.5 else 0)
    return YAxis(ticks[0], ticks[-1], ticks, label, fmt=fmt or (lambda v: f"{v:.{digits}f}"))


def log_axis(values: Sequence[float], label: str, *, top: float = 1.0, min_decades: int = 2) -> YAxis:
    """Powers of ten from below the smallest value up to ``top`` (p-values: 1)."""
    smallest = min([v for v in values if v > 0] or [top])
    lo_exp = min(math.floor(math.log10(max(smallest, 1e-12))), round(math.log10(top)) - min_decades)
    hi_exp = math.ceil(math.log10(top))
    ticks = [10.0 ** e for e in range(lo_exp, hi_exp + 1)]
    return YAxis(ticks[0], ticks[-1], ticks, label, log=True, fmt=lambda v: f"{v:g}")


def time_domain(times: Sequence[float]) -> tuple[float, float]:
    """The span of the times with 4% room each side (half a day around a single time)."""
    if not times:
        return 0.0, DAY
    lo, hi = min(times), max(times)
    if hi - lo < HOUR:
        return lo - DAY / 2, hi + DAY / 2
    pad = (hi - lo) * 0.04
    return lo - pad, hi + pad


def _time_ticks(lo: float, hi: float) -> tuple[list[float], str]:
    step = next((s for s in _TIME_STEPS if (hi - lo) / s <= 7), _TIME_STEPS[-1])
    fmt = "%b %Y" if step >= 28 * DAY else "%b %d" if step >= DAY else "%b %d %H:%M"
    return [i * step for i in range(math.ceil(lo / step), math.floor(hi / step) + 1)], fmt


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _marker(series: Series, point: Point, x: float, y: float) -> str:
    fill = series.color if series.filled or point.emphasis else "#fff"
    paint = f'fill="{fill}" stroke="{series.color}" stroke-width="1.6"'
    if series.marker == "square":
        return f'<rect x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8" {paint}/>'
    if series.marker == "diamond":
        return (f'<path d="M{_num(x)} {_num(y - 5.5)}L{_num(x + 5.5)} {_num(y)}L{_num(x)} {_num(y + 5.5)}'
                f'L{_num(x - 5.5)} {_num(y)}Z" {paint}/>')
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4.2" {paint}/>'


def time_chart(chart_id: str, title: str, description: str, series: Sequence[Series], y_axis: YAxis,
               x_domain: tuple[float, float], *, refs: Sequence[RefLine] = (), x_label: str = "window start (UTC)",
               width: int = 1152, height: int = 300) -> str:
    """One chart: time on x, ``y_axis`` on y, lines and markers per series, dashed reference lines."""
    plot_w, plot_h = width - MARGIN_LEFT - MARGIN_RIGHT, height - MARGIN_TOP - MARGIN_BOTTOM
    t0, t1 = x_domain

    def sx(t: float) -> float:
        return MARGIN_LEFT + (t - t0) / (t1 - t0) * plot_w

    def sy(v: float) -> float:
        return MARGIN_TOP + (1 - y_axis.fraction(v)) * plot_h

    out = [f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{chart_id}-title">{escape(title)}</title>'
           f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
           f'<rect class="plot" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}"/>']
    for tick in y_axis.ticks:
        y = sy(tick)
        out.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{_num(y)}" y2="{_num(y)}"/>'
                   f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{_num(y + 4)}" text-anchor="end">'
                   f'{escape(y_axis.fmt(tick))}</text>')
    ticks, time_fmt = _time_ticks(t0, t1)
    for tick in ticks:
        x = sx(tick)
        label = datetime.fromtimestamp(tick, tz=UTC).strftime(time_fmt)
        out.append(f'<line class="grid" x1="{_num(x)}" x2="{_num(x)}" y1="{MARGIN_TOP}" y2="{MARGIN_TOP + plot_h}"/>'
                   f'<text class="tick" x="{_num(x)}" y="{MARGIN_TOP + plot_h + 18}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    out.append(f'<text class="axis-label" transform="translate(14 {MARGIN_TOP + plot_h / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_axis.label)}</text>')
    out.append(f'<text class="axis-label" x="{MARGIN_LEFT + plot_w / 2:.0f}" y="{height - 4}" '
               f'text-anchor="middle">{escape(x_label)}</text>')
    for ref in refs:
        y = sy(ref.y)
        out.append(f'<g class="ref" data-ref="{escape(ref.key)}"><title>{escape(ref.label)}</title>'
                   f'{_dashed(ref, MARGIN_LEFT, MARGIN_LEFT + plot_w, y)}</g>')
    for s in series:
        points = sorted(s.points, key=lambda p: p.t)
        if s.line and len(points) > 1:
            path = " ".join(f"{_num(sx(p.t))},{_num(sy(p.y))}" for p in points)
            out.append(f'<polyline class="line" data-series="{escape(s.key)}" points="{path}" fill="none" '
                       f'stroke="{s.color}" stroke-width="2" stroke-linejoin="round"/>')
        for p in points:
            x, y = sx(p.t), sy(p.y)
            bar = ""
            if p.low is not None and p.high is not None:
                y_low, y_high = sy(p.low), sy(p.high)
                bar = (f'<path class="err" d="M{_num(x)} {_num(y_low)}V{_num(y_high)}M{_num(x - 5)} {_num(y_low)}'
                       f'H{_num(x + 5)}M{_num(x - 5)} {_num(y_high)}H{_num(x + 5)}" stroke="{s.color}" '
                       'stroke-width="1.6" fill="none"/>')
            flag = ' data-emphasis="true"' if p.emphasis else ""
            out.append(f'<g class="pt" data-series="{escape(s.key)}"{flag}><title>{escape(p.label)}</title>'
                       f'{bar}{_marker(s, p, x, y)}</g>')
    out.append(_legend(series, refs, MARGIN_LEFT + plot_w))
    out.append("</svg>")
    return "".join(out)


def _dashed(ref: RefLine, x1: float, x2: float, y: float) -> str:
    return (f'<line x1="{_num(x1)}" x2="{_num(x2)}" y1="{_num(y)}" y2="{_num(y)}" stroke="{ref.color}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>')


def _legend(series: Sequence[Series], refs: Sequence[RefLine], right: float) -> str:
    """Right-aligned above the plot, reference lines included (their labels never collide with
    the data there); text is measured roughly (7.5 px a character at 13 px) to need no script."""
    entries = [(s.name, _marker(s, Point(0, 0, ""), 11, 16)) for s in series]
    entries += [(r.label, _dashed(r, 0, 22, 16)) for r in refs]
    items, x = [], right
    for name, swatch in reversed(entries):
        x -= 7.5 * len(name) + 48
        items.append(f'<g class="legend-item" transform="translate({_num(x)} 0)">{swatch}'
                     f'<text class="legend" x="28" y="20">{escape(name)}</text></g>')
    return "".join(reversed(items))


def share_bars(baseline: float, current: float, *, width: int = 180) -> str:
    """Two horizontal bars, a cluster's share of the baseline window and of the current one."""
    scale = width - 52
    rows = []
    for i, (name, share, color) in enumerate((("baseline", baseline, "#9aa3ad"), ("current", current, "#0072B2"))):
        y = 3 + i * 14
        rows.append(f'<rect x="0" y="{y}" width="{_num(max(share, 0) * scale)}" height="10" fill="{color}">'
                    f'<title>{name}: {share:.1%}</title></rect>'
                    f'<text class="bar-label" x="{_num(max(share, 0) * scale + 4)}" y="{y + 9}">{share:.0%}</text>')
    label = f"share of the window: baseline {baseline:.1%}, current {current:.1%}"
    return (f'<svg class="bars" viewBox="0 0 {width} 31" width="{width}" height="31" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')
