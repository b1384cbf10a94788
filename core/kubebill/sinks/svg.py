"""Small inline SVG charts for the HTML report (no scripts, fonts or images from the network).

Every drawn data point has class `mark` and a `<title>` tooltip; the page's own check counts them.
"""

from __future__ import annotations

from html import escape

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 56


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _frame(chart_id: str, title: str, inner: list[str], *, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">' + "".join(inner) + "</svg>"
    )


def _y_axis(top_value: float, plot_h: float, *, percent: bool = False) -> list[str]:
    out = []
    for i in range(5):
        value = top_value * i / 4
        y = TOP + plot_h - plot_h * i / 4
        text = f"{value * 100:.0f}%" if percent else _money(value)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{escape(text)}</text>')
    return out


def _legend(names: list[str], y: float) -> list[str]:
    out, x = [], float(LEFT)
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" class="axis">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def stacked_bars(chart_id: str, title: str, categories: list[str], series: dict[str, list[float]]) -> str:
    """Vertical bars per category (e.g. day), stacked by series (e.g. cost component)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    top_value = max([*totals, 0.0]) or 1.0
    step = plot_w / max(1, len(categories))
    bar_w = max(2.0, step * 0.7)
    inner = _y_axis(top_value, plot_h)
    for i, category in enumerate(categories):
        x = LEFT + i * step + (step - bar_w) / 2
        y = float(TOP + plot_h)
        for index, (name, values) in enumerate(series.items()):
            height = plot_h * values[i] / top_value
            if height <= 0:
                continue
            y -= height
            inner.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(category)} {escape(name)}: '
                f"{_money(values[i])}</title></rect>"
            )
        if len(categories) <= 16 or i % max(1, len(categories) // 8) == 0:
            inner.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" class="axis">'
                f"{escape(category[5:])}</text>"
            )
    inner += _legend(list(series), HEIGHT - 12)
    return _frame(chart_id, title, inner)


def horizontal_bars(chart_id: str, title: str, items: list[tuple[str, float]]) -> str:
    """One bar per (label, value), largest first; negative values are drawn as zero-length."""
    row_h = 26
    height = TOP + row_h * max(1, len(items)) + 8
    label_w = 240
    plot_w = WIDTH - label_w - RIGHT - 90
    top_value = max([value for _, value in items] + [0.0]) or 1.0
    inner = []
    for i, (label, value) in enumerate(items):
        y = TOP + i * row_h
        width = max(0.0, plot_w * value / top_value)
        inner.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="axis">{escape(label[:40])}</text>'
            f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{max(width, 1.0):.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {_money(value)}</title></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" class="axis">{_money(value)}</text>'
        )
    return _frame(chart_id, title, inner, height=height)


def percent_lines(chart_id: str, title: str, categories: list[str], series: dict[str, list[float | None]]) -> str:
    """Lines of shares (0..1) per category, one per series, with a point per value."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for line in series.values() for v in line if v is not None]
    top_value = min(1.0, max([*values, 0.05]) * 1.2)
    step = plot_w / max(1, len(categories))
    inner = _y_axis(top_value, plot_h, percent=True)
    for index, (name, line) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        points = []
        for i, value in enumerate(line):
            if value is None:
                continue
            x = LEFT + i * step + step / 2
            y = TOP + plot_h - plot_h * value / top_value
            points.append(f"{x:.1f},{y:.1f}")
            inner.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                f"<title>{escape(categories[i])} {escape(name)}: {value * 100:.1f}%</title></circle>"
            )
        if len(points) > 1:
            inner.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>')
    for i, category in enumerate(categories):
        if len(categories) <= 16 or i % max(1, len(categories) // 8) == 0:
            x = LEFT + i * step + step / 2
            inner.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" class="axis">'
                f"{escape(category[5:])}</text>"
            )
    inner += _legend(list(series), HEIGHT - 12)
    return _frame(chart_id, title, inner)
