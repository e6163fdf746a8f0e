"""Small charts as inline SVG: no JavaScript, no network, crisp in print.

Only published values are drawn. A suppressed value is never drawn as a number: in a stacked
bar the suppressed categories together are one hatched segment (their sum is the published total
less the published parts, so it reveals nothing new); in a line chart the point is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = (
    "#005eb8",
    "#ed8b00",
    "#009639",
    "#7c2855",
    "#41b6e6",
    "#ffb81c",
    "#78be20",
    "#768692",
    "#ae2573",
    "#330072",
)
SUPPRESSED_FILL = "url(#hatch)"
_HATCH = (
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>'
)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, float | None, Sequence[float | None]]],
    categories: Sequence[str],
) -> Markup:
    """100% stacked horizontal bars: one per row (label, published total, published parts)."""
    width, label_w, bar_h, gap, legend_h = 640, 190, 22, 8, 22
    plot_w = width - label_w - 10
    legend_rows = (len(categories) + 4) // 5 + 1
    height = len(rows) * (bar_h + gap) + legend_rows * legend_h + 10
    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{_HATCH}'
    ]
    for i, (label, total, parts) in enumerate(rows):
        y = i * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" '
            f'font-size="12">{escape(label)}</text>'
        )
        if not total:
            out.append(
                f'<text x="{label_w}" y="{y + bar_h * 0.7:.1f}" font-size="12" '
                'fill="#666">no individuals, or suppressed</text>'
            )
            continue
        x = float(label_w)
        shown = 0.0
        for j, part in enumerate(parts):
            if part is None or part == 0:
                continue
            w = plot_w * part / total
            shown += part
            pct = 100 * part / total
            out.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(categories[j])}: '
                f"{_fmt(pct)}%</title></rect>"
            )
            if w > 34:
                out.append(
                    f'<text x="{x + w / 2:.2f}" y="{y + bar_h * 0.7:.1f}" '
                    f'text-anchor="middle" font-size="11" fill="#fff">{_fmt(pct)}%'
                    "</text>"
                )
            x += w
        if any(p is None for p in parts) and total - shown > 0:
            w = plot_w * (total - shown) / total
            out.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" '
                f'fill="{SUPPRESSED_FILL}"><title>suppressed categories</title></rect>'
            )
    y0 = len(rows) * (bar_h + gap) + 6
    for j, cat in enumerate([*categories, "suppressed"]):
        lx, ly = label_w + (j % 5) * (plot_w / 5), y0 + (j // 5) * legend_h
        fill = SUPPRESSED_FILL if j == len(categories) else PALETTE[j % len(PALETTE)]
        out.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" fill="{fill}"/>'
            f'<text x="{lx + 16:.1f}" y="{ly + 10}" font-size="11">{escape(cat)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(
    title: str, xs: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """Lines over the x labels (financial years), one per series; missing values are gaps."""
    width, height, left, right, top, bottom = 640, 280, 60, 170, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = max(values, default=0) or 1
    step = _nice_step(top_value)
    y_max = step * -(-top_value // step)
    n = max(len(xs) - 1, 1)

    def px(i: int) -> float:
        return left + (plot_w * i / n if len(xs) > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    tick = 0.0
    while tick <= y_max:
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(tick):.1f}" '
            f'y2="{py(tick):.1f}" stroke="#ddd"/><text x="{left - 6}" '
            f'y="{py(tick) + 4:.1f}" text-anchor="end" font-size="11">{int(tick):,}</text>'
        )
        tick += step
    for i, x in enumerate(xs):
        out.append(
            f'<text x="{px(i):.1f}" y="{height - 10}" text-anchor="middle" '
            f'font-size="11">{escape(x)}</text>'
        )
    for k, (name, vs) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        run: list[str] = []
        for i, v in enumerate(vs):
            if v is None:
                if len(run) > 1:
                    out.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            run.append(f"{px(i):.1f},{py(v):.1f}")
            out.append(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(xs[i])}: {int(v):,}</title></circle>"
            )
        if len(run) > 1:
            out.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(run)}"/>'
            )
        ly = top + 16 * k
        out.append(
            f'<rect x="{left + plot_w + 12}" y="{ly}" width="12" height="12" '
            f'fill="{colour}"/><text x="{left + plot_w + 28}" y="{ly + 10}" '
            f'font-size="11">{escape(name)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _nice_step(top: float) -> float:
    """A round tick step giving four to eight gridlines."""
    raw = top / 5
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * magnitude:
            return mult * magnitude
    return 10 * magnitude
