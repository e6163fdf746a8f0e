"""Small charts as inline SVG: no JavaScript, no network, crisp in print.

Only published values are drawn. A suppressed value is never drawn as a number: in a stacked
bar the suppressed categories together are one hatched segment (their sum is the published total
less the published parts, so it reveals nothing new); in a line chart the point is left out.
"""

from __future__ import annotations

import math
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


# Advance widths in em, generous for the fonts a report is read in (Segoe UI, Arial and
# DejaVu Sans, the widest of the three, per character class), so that a label laid out by
# its estimated width never runs into the next or out of the chart.
_NARROW, _SLIM, _WIDE = set("iIjl.,:;'|!`"), set("frt()[]-/ "), set("mwMW@%")
LEGEND_GAP = 14  # px between a legend entry and the next on its line
SWATCH = 16  # px from a legend swatch's left to its label


def text_width(text: str, size: float) -> float:
    """An upper estimate of ``text``'s width in px at font size ``size``."""
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.34
        elif ch in _SLIM:
            em += 0.45
        elif ch in _WIDE:
            em += 1.0
        elif ch.isupper():
            em += 0.76
        else:
            em += 0.64
    return em * size


def wrap_text(text: str, size: float, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` px, broken between words; a word wider than
    that on its own starts a line and is broken after a hyphen or, at last, anywhere."""
    lines: list[str] = []
    for word in text.split():
        first, *rest = _pieces(word, size, width)
        if lines and not rest and text_width(f"{lines[-1]} {first}", size) <= width:
            lines[-1] += f" {first}"
        else:
            lines.append(first)
        lines.extend(rest)
    return lines or [""]


def _pieces(word: str, size: float, width: float) -> list[str]:
    """A word in pieces that each fit ``width`` (one piece when it fits)."""
    out = []
    while text_width(word, size) > width and len(word) > 1:
        fits = [k for k in range(1, len(word)) if text_width(word[:k], size) <= width] or [1]
        cut = fits[-1]
        hyphen = word.rfind("-", 0, cut)
        cut = hyphen + 1 if hyphen > 0 else cut
        out.append(word[:cut])
        word = word[cut:]
    return [*out, word]


def _text_lines(x: float, y: float, lines: list[str], size: float, attrs: str = "") -> str:
    """One ``<text>`` of several lines (``tspan``), the first baseline at ``y``."""
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size * 1.2:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"{attrs}>{spans}</text>'


def legend(
    entries: Sequence[tuple[str, str]], left: float, top: float, width: float, size: float = 11
) -> tuple[list[str], float]:
    """Legend entries (label, fill) laid out in lines from (``left``, ``top``) within
    ``width`` px: each a swatch and its label, wrapped when one line cannot hold it, never
    over another entry nor past the right edge. Returns the SVG and the height used."""
    line_h = size * 1.2
    out: list[str] = []
    x, y, row_h = left, top, 0.0
    for label, fill in entries:
        lines = wrap_text(label, size, width - SWATCH)
        w = SWATCH + max(text_width(line, size) for line in lines)
        if x > left and x + w > left + width:  # the next line
            x, y, row_h = left, y + row_h + 6, 0.0
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{fill}"/>')
        out.append(_text_lines(x + SWATCH, y + 10, lines, size))
        row_h = max(row_h, 12.0, (len(lines) - 1) * line_h + size + 2)
        x += w + LEGEND_GAP
    return out, (y + row_h - top) if entries else 0.0


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, float | None, Sequence[float | None]]],
    categories: Sequence[str],
) -> Markup:
    """100% stacked horizontal bars: one per row (label, published total, published parts)."""
    width, label_w, bar_h, gap = 640, 190, 22, 8
    plot_w = width - label_w - 10
    out: list[str] = []
    top = 0.0  # the next row's top: a row is as tall as its wrapped label needs
    for label, total, parts in rows:
        lines = wrap_text(label, 12, label_w - 12)
        row_h = max(bar_h, len(lines) * 14.4)
        y = top + (row_h - bar_h) / 2  # the bar, centred on its label
        top += row_h + gap
        first = y + bar_h * 0.7 - (len(lines) - 1) * 7.2
        out.append(_text_lines(label_w - 6, first, lines, 12, ' text-anchor="end"'))
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
                f'<rect x="{x:.2f}" y="{y:g}" width="{w:.2f}" height="{bar_h}" '
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
                f'<rect x="{x:.2f}" y="{y:g}" width="{w:.2f}" height="{bar_h}" '
                f'fill="{SUPPRESSED_FILL}"><title>suppressed categories</title></rect>'
            )
    entries = [(c, PALETTE[j % len(PALETTE)]) for j, c in enumerate(categories)]
    keys, keys_h = legend([*entries, ("suppressed", SUPPRESSED_FILL)], 10, 0, width - 20)
    y0 = top + 6
    height = math.ceil(y0 + keys_h + 10)
    head = (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{_HATCH}'
    )
    return Markup(
        "".join([head, *out, f'<g transform="translate(0 {y0:g})">', *keys, "</g></svg>"])
    )


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
    keys: list[tuple[str, str]] = []
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
        keys.append((name, colour))
    # the series' names beside the plot, one entry a line, each wrapped to the space there
    lx = left + plot_w + 12
    ly = float(top)
    for name, colour in keys:
        entry, used = legend([(name, colour)], lx, ly, width - lx - 4)
        out.extend(entry)
        ly += used + 6
    if ly > height:  # names wrapped past the plot's foot: a taller chart
        out[0] = out[0].replace(
            f'viewBox="0 0 {width} {height}"', f'viewBox="0 0 {width} {math.ceil(ly)}"'
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
