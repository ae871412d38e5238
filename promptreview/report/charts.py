"""Inline SVG charts for the HTML report: no script, no external resource, every label escaped.

- `rate_chart`: each rate, base against head, with its 95 % interval as a whisker.
- `delta_chart`: a change per stratum (or per anything), diverging from zero, with its interval when known.
- `distribution_chart`: a categorical field's shares, base against head, per category.

Each returns one `<svg>` element sized by its viewBox (it scales to the page's width, phones included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

BASE_COLOR = "#8c959f"
HEAD_COLOR = "#0969da"
UP_COLOR = "#cf222e"  # an increase of a failure rate: bad
DOWN_COLOR = "#1a7f37"
WIDTH = 640
LABEL_W = 170
ROW_H = 22


@dataclass(frozen=True)
class RateBar:
    label: str
    base: float | None
    base_ci: tuple[float, float] | None
    head: float | None
    head_ci: tuple[float, float] | None


def _svg(height: int, body: list[str], title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" '
        f'font-family="system-ui,sans-serif" font-size="12"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def rate_chart(rows: Sequence[RateBar], title: str = "rates, base vs head (95% CI)") -> str:
    """Two bars per rate (base grey, head blue) on one 0..max scale, each with its interval."""
    values = [v for r in rows for v in (r.base, r.head) if v is not None]
    values += [ci[1] for r in rows for ci in (r.base_ci, r.head_ci) if ci is not None]
    top = max([*values, 0.01]) * 1.1
    plot = WIDTH - LABEL_W - 60
    body: list[str] = []
    y = 24
    body.append(
        f'<rect x="{LABEL_W}" y="4" width="10" height="10" fill="{BASE_COLOR}"/>'
        f'<text x="{LABEL_W + 14}" y="13">base</text>'
        f'<rect x="{LABEL_W + 60}" y="4" width="10" height="10" fill="{HEAD_COLOR}"/>'
        f'<text x="{LABEL_W + 74}" y="13">head</text>'
    )
    for r in rows:
        body.append(f'<text x="4" y="{y + ROW_H // 2 + 4}">{escape(r.label[:28])}</text>')
        for i, (value, ci, color) in enumerate(
            ((r.base, r.base_ci, BASE_COLOR), (r.head, r.head_ci, HEAD_COLOR))
        ):
            top_y = y + i * (ROW_H // 2)
            if value is None:
                body.append(f'<text x="{LABEL_W + 2}" y="{top_y + 9}" fill="#57606a">n/a</text>')
                continue
            w = plot * value / top
            body.append(
                f'<rect x="{LABEL_W}" y="{top_y}" width="{w:.1f}" height="{ROW_H // 2 - 2}" fill="{color}">'
                f"<title>{escape(r.label)}: {_pct(value)}</title></rect>"
            )
            end = w
            if ci is not None:
                lo, hi = LABEL_W + plot * ci[0] / top, LABEL_W + plot * ci[1] / top
                mid = top_y + (ROW_H // 2 - 2) / 2
                body.append(
                    f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="#24292f"/>'
                    f'<line x1="{lo:.1f}" x2="{lo:.1f}" y1="{mid - 3:.1f}" y2="{mid + 3:.1f}" stroke="#24292f"/>'
                    f'<line x1="{hi:.1f}" x2="{hi:.1f}" y1="{mid - 3:.1f}" y2="{mid + 3:.1f}" stroke="#24292f"/>'
                )
                end = max(end, hi - LABEL_W)
            body.append(f'<text x="{LABEL_W + end + 4:.1f}" y="{top_y + 9}">{_pct(value)}</text>')
        y += ROW_H + 8
    return _svg(y + 4, body, title)


def delta_chart(
    rows: Sequence[tuple[str, float | None, tuple[float, float] | None, bool]], title: str
) -> str:
    """One bar per row: (label, change, its 95 % CI or None, significant), diverging from a zero line.
    An increase is red, a decrease green; a significant change is drawn solid, the rest faded."""
    spans = [abs(v) for _, d, ci, _ in rows for v in ([d] if d is not None else []) + list(ci or ())]
    half = max([*spans, 0.01]) * 1.1
    plot = WIDTH - LABEL_W - 70
    zero = LABEL_W + plot / 2
    scale = (plot / 2) / half
    body = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{len(rows) * ROW_H + 8}" stroke="#57606a"/>']
    y = 4
    for label, delta, ci, significant in rows:
        body.append(f'<text x="4" y="{y + 14}">{escape(label[:28])}</text>')
        if delta is None:
            body.append(f'<text x="{zero + 4:.1f}" y="{y + 14}" fill="#57606a">n/a</text>')
            y += ROW_H
            continue
        x = zero if delta >= 0 else zero + delta * scale
        color = UP_COLOR if delta > 0 else DOWN_COLOR
        opacity = "1" if significant else "0.35"
        body.append(
            f'<rect x="{x:.1f}" y="{y + 3}" width="{abs(delta) * scale:.1f}" height="{ROW_H - 8}" '
            f'fill="{color}" fill-opacity="{opacity}"><title>{escape(label)}: {delta * 100:+.1f} pp'
            f"{' (significant)' if significant else ''}</title></rect>"
        )
        if ci is not None:
            lo, hi = zero + ci[0] * scale, zero + ci[1] * scale
            mid = y + ROW_H / 2 - 1
            body.append(f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="#24292f"/>')
        text_x = zero + max(delta, ci[1] if ci else delta) * scale + 4 if delta >= 0 else zero + 4
        body.append(f'<text x="{text_x:.1f}" y="{y + 14}">{delta * 100:+.1f} pp</text>')
        y += ROW_H
    return _svg(y + 6, body, title)


def distribution_chart(base: Mapping[str, float], head: Mapping[str, float], title: str) -> str:
    """A categorical field's shares (0..1) per category, base against head."""
    rows = [
        RateBar(label, base.get(label, 0.0), None, head.get(label, 0.0), None)
        for label in sorted(
            dict.fromkeys([*base, *head]), key=lambda k: -max(base.get(k, 0.0), head.get(k, 0.0))
        )
    ][:12]
    return rate_chart(rows, title)
