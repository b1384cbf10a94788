"""Small inline SVG charts for the HTML report (no scripts, fonts or images from the network).

Time charts place each day at its date (a gap in the data is a gap on the axis); value axes have "nice"
ticks (1, 2, 2.5, 5 × 10^k) labelled with the currency. Every drawn data point has class `mark` and a
`<title>` tooltip; each chart lists its series in `data-groups` and its days in `data-dates`, so a browser
test can compare what was drawn with the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 16, 56


def nice_ticks(top: float, *, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5, 5 × 10^k) up to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def money_label(value: float, currency: str) -> str:
    digits = 0 if abs(value) >= 100 or value == int(value) else 2
    return f"{value:,.{digits}f} {currency}".strip()


def _frame(
    chart_id: str,
    title: str,
    inner: list[str],
    *,
    height: int = HEIGHT,
    groups: Sequence[str] = (),
    dates: Sequence[date] = (),
) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
        f'data-groups="{escape("|".join(groups))}" data-dates="{escape("|".join(d.isoformat() for d in dates))}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">' + "".join(inner) + "</svg>"
    )


def _y_axis(ticks: list[float], plot_h: float, label: str) -> list[str]:
    out = []
    for value in ticks:
        y = TOP + plot_h - plot_h * value / ticks[-1]
        text = f"{value * 100:.0f}%" if label == "%" else money_label(value, label)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{escape(text)}</text>')
    return out


class TimeAxis:
    """Days from `first` to `last` mapped to x; ticks every 1, 2, 7 or 14 days, or on the 1st of each month."""

    def __init__(self, first: date, last: date) -> None:
        self.first, self.days = first, (last - first).days + 1
        self.step = (WIDTH - LEFT - RIGHT) / self.days

    def x(self, day: date) -> float:
        return LEFT + ((day - self.first).days + 0.5) * self.step

    def ticks(self) -> list[str]:
        every = next((n for n in (1, 2, 7, 14) if self.days / n <= 10), 0)
        days = [self.first + timedelta(days=i) for i in range(self.days)]
        shown = [d for d in days if (d.day == 1 if not every else (d - self.first).days % every == 0)] or days[:1]
        y = HEIGHT - BOTTOM + 14
        return [
            f'<text x="{self.x(d):.1f}" y="{y}" text-anchor="middle" class="axis tick">{d:%b} {d.day}</text>'
            for d in shown
        ]


def stacked_bars(chart_id: str, title: str, days: list[date], series: dict[str, list[float]], *, currency: str) -> str:
    """A bar per day at its date, stacked by series (e.g. cost component)."""
    plot_h = HEIGHT - TOP - BOTTOM
    axis = TimeAxis(days[0], days[-1])
    totals = [sum(max(0.0, values[i]) for values in series.values()) for i in range(len(days))]
    ticks = nice_ticks(max([*totals, 0.0]))
    bar_w = max(2.0, axis.step * 0.7)
    inner = _y_axis(ticks, plot_h, currency)
    for i, day in enumerate(days):
        y = float(TOP + plot_h)
        for index, (name, values) in enumerate(series.items()):
            height = plot_h * values[i] / ticks[-1]
            if height <= 0:
                continue
            y -= height
            inner.append(
                f'<rect class="mark" x="{axis.x(day) - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}" fill="{PALETTE[index % len(PALETTE)]}"><title>{day} {escape(name)}: '
                f"{escape(money_label(values[i], currency))}</title></rect>"
            )
    inner += axis.ticks() + _legend(list(series), HEIGHT - 12)
    return _frame(chart_id, title, inner, groups=list(series), dates=days)


def lines(
    chart_id: str,
    title: str,
    days: list[date],
    series: dict[str, list[float | None]],
    *,
    unit: str,
    extra: dict[str, list[tuple[date, float]]] | None = None,
) -> str:
    """A line per series over days at their dates; `unit` is a currency or '%' (values 0..1). `extra` adds
    dashed lines through (day, value) points (a forecast, a budget)."""
    plot_h = HEIGHT - TOP - BOTTOM
    points_extra = [p for line in (extra or {}).values() for p in line]
    last = max([days[-1], *(d for d, _ in points_extra)])
    axis = TimeAxis(days[0], last)
    values = [v for line in series.values() for v in line if v is not None] + [v for _, v in points_extra]
    top = max([*values, 0.0])
    ticks = [t / 100 for t in nice_ticks(min(100.0, top * 100 * 1.1) or 5.0)] if unit == "%" else nice_ticks(top)
    inner = _y_axis(ticks, plot_h, unit)

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * value / ticks[-1]

    def shown(value: float) -> str:
        return f"{value * 100:.1f}%" if unit == "%" else money_label(value, unit)

    names = list(series)
    for index, (name, line) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        drawn = [(d, v) for d, v in zip(days, line, strict=True) if v is not None]
        for day, value in drawn:
            inner.append(
                f'<circle class="mark" cx="{axis.x(day):.1f}" cy="{y_of(value):.1f}" r="3.5" fill="{color}">'
                f"<title>{day} {escape(name)}: {escape(shown(value))}</title></circle>"
            )
        runs: list[list[tuple[date, float]]] = []
        for day, value in drawn:  # a day without data breaks the line
            if runs and (day - runs[-1][-1][0]).days == 1:
                runs[-1].append((day, value))
            else:
                runs.append([(day, value)])
        for run in (r for r in runs if len(r) > 1):
            path = " ".join(f"{axis.x(d):.1f},{y_of(v):.1f}" for d, v in run)
            inner.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    for offset, (name, line_points) in enumerate((extra or {}).items()):
        color = PALETTE[(len(series) + offset) % len(PALETTE)]
        path = " ".join(f"{axis.x(d):.1f},{y_of(v):.1f}" for d, v in line_points)
        inner.append(
            f'<polyline class="mark" points="{path}" fill="none" stroke="{color}" stroke-width="2" '
            f'stroke-dasharray="6 4"><title>{escape(name)}: {escape(shown(line_points[-1][1]))}</title></polyline>'
        )
        names.append(name)
    inner += axis.ticks() + _legend(names, HEIGHT - 12)
    return _frame(chart_id, title, inner, groups=list(series), dates=days)


def _legend(names: list[str], y: float) -> list[str]:
    out, x = [], float(LEFT)
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" class="axis legend">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def horizontal_bars(chart_id: str, title: str, items: list[tuple[str, float]], *, currency: str) -> str:
    """One bar per (label, value) in the order given; negative values are drawn as zero-length."""
    row_h = 26
    height = TOP + row_h * max(1, len(items)) + 8
    label_w = 240
    plot_w = WIDTH - label_w - RIGHT - 110
    top_value = max([value for _, value in items] + [0.0]) or 1.0
    inner = []
    for i, (label, value) in enumerate(items):
        y = TOP + i * row_h
        width = max(0.0, plot_w * value / top_value)
        text = escape(money_label(value, currency))
        inner.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="axis legend">{escape(label[:40])}</text>'
            f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{max(width, 1.0):.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {text}</title></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" class="axis">{text}</text>'
        )
    return _frame(chart_id, title, inner, height=height, groups=[label for label, _ in items])


def stacked_horizontal_bars(
    chart_id: str, title: str, items: list[tuple[str, list[float]]], parts: list[str], *, currency: str
) -> str:
    """One bar per label, stacked from its `parts` values (in that order; negatives drawn as zero), total at the end."""
    row_h = 26
    height = TOP + row_h * max(1, len(items)) + 8 + 24
    label_w = 240
    plot_w = WIDTH - label_w - RIGHT - 110
    top_value = max([sum(max(0.0, v) for v in values) for _, values in items] + [0.0]) or 1.0
    inner = []
    for i, (label, values) in enumerate(items):
        y = TOP + i * row_h
        x = float(label_w)
        inner.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="axis legend">{escape(label[:40])}</text>'
        )
        for j, (part, value) in enumerate(zip(parts, values, strict=True)):
            width = plot_w * max(0.0, value) / top_value
            if width <= 0:
                continue
            inner.append(
                f'<rect class="mark" data-part="{escape(part)}" x="{x:.1f}" y="{y + 4}" width="{width:.1f}" '
                f'height="{row_h - 8}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} {escape(part)}: '
                f"{escape(money_label(value, currency))}</title></rect>"
            )
            x += width
        total = escape(money_label(sum(values), currency))
        inner.append(f'<text x="{x + 6:.1f}" y="{y + 16}" class="axis">{total}</text>')
    inner += _legend(parts, height - 8)
    return _frame(chart_id, title, inner, height=height, groups=[label for label, _ in items])
