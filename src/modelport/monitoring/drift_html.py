"""The drift report as one self-contained HTML file: a table, then a plot per feature.

Each plot is an inline SVG drawn here (no plotting library, no network): for every bin, the
reference share and the live share side by side, so a shifted distribution is visible at a
glance. Opens in any browser, attaches to any ticket.
"""

from __future__ import annotations

import html
import math

from modelport.monitoring.drift import FeatureDrift
from modelport.monitoring.drift_check import DriftReport

__all__ = ["render_html"]

_W, _H, _PAD_L, _PAD_B, _PAD_T = 560, 220, 44, 60, 16
_REF, _LIVE = "#8da0cb", "#fc8d62"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}.drift{color:#b00020;font-weight:bold}.ok{color:#1b7f3b}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}.card{border:1px solid #ddd;border-radius:6px;
padding:.5rem 1rem}.muted{color:#777}svg text{font-size:10px;fill:#444}
"""


def render_html(report: DriftReport) -> str:
    """The whole page for ``report``."""
    title = f"Drift report: {report.model} version {report.version}"
    verdict = ("<span class='drift'>DRIFT in " + html.escape(", ".join(report.drifted_features))
               + "</span>" if report.drifted else "<span class='ok'>no drift</span>")
    rows = "".join(_row(f) for f in report.features)
    notes = "".join(f"<p class='muted'>{html.escape(n)}</p>" for n in report.notes)
    cards = "".join(_card(f) for f in report.features if f.bins)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{verdict}. Live window {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC:
{report.live_rows} live rows against {report.reference_rows} reference rows; significance
{report.alpha} after {"Benjamini-Hochberg" if report.correction == "bh" else "Holm"} correction.
</p>{notes}
<table><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th><th>p-value</th>
<th>adjusted</th><th>PSI</th><th>live rows</th><th>verdict</th></tr>{rows}</table>
<p><span style="color:{_REF}">&#9632;</span> reference &nbsp;
<span style="color:{_LIVE}">&#9632;</span> live (share of rows per bin)</p>
<div class="grid">{cards}</div></body></html>
"""


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


def _row(f: FeatureDrift) -> str:
    cls = "drift" if f.drifted else ("ok" if f.tested else "muted")
    name = html.escape(f.feature) + (" <span class='muted'>(prediction)</span>"
                                     if f.prediction else "")
    verdict = html.escape(f.verdict + (f": {f.note}" if f.note else ""))
    return (f"<tr><td>{name}</td><td>{f.kind}</td><td>{f.test}</td><td>{_fmt(f.statistic)}</td>"
            f"<td>{_fmt(f.p_value)}</td><td>{_fmt(f.p_adjusted)}</td><td>{_fmt(f.psi)}</td>"
            f"<td>{f.live_rows}</td><td class='{cls}'>{verdict}</td></tr>")


def _card(f: FeatureDrift) -> str:
    return (f"<div class='card'><h3>{html.escape(f.feature)} "
            f"<span class='{'drift' if f.drifted else 'muted'}'>{html.escape(f.verdict)}</span>"
            f"</h3>{histogram_svg(f)}</div>")


def histogram_svg(f: FeatureDrift) -> str:
    """Reference and live shares per bin as paired bars, with bin labels under them."""
    bins = f.bins[:40]
    n = max(len(bins), 1)
    top = max([*f.reference_share[:40], *f.live_share[:40], 1e-9])
    plot_w, plot_h = _W - _PAD_L - 8, _H - _PAD_B - _PAD_T
    slot = plot_w / n
    bar = max(slot * 0.4, 1.0)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' "
             f"role='img' aria-label='{html.escape(f.feature)} histogram'>"]
    for tick in (0.0, 0.5, 1.0):
        y = _PAD_T + plot_h * (1 - tick)
        parts.append(f"<line x1='{_PAD_L}' x2='{_W - 8}' y1='{y:.1f}' y2='{y:.1f}' "
                     "stroke='#eee'/>")
        parts.append(f"<text x='{_PAD_L - 4}' y='{y + 3:.1f}' text-anchor='end'>"
                     f"{top * tick:.0%}</text>")
    for i, label in enumerate(bins):
        x = _PAD_L + i * slot + slot * 0.1
        for j, (shares, color) in enumerate(((f.reference_share, _REF), (f.live_share, _LIVE))):
            share = shares[i] if i < len(shares) else 0.0
            h = plot_h * share / top
            parts.append(f"<rect x='{x + j * bar:.1f}' y='{_PAD_T + plot_h - h:.1f}' "
                         f"width='{bar:.1f}' height='{h:.1f}' fill='{color}'>"
                         f"<title>{html.escape(label)}: {share:.1%}</title></rect>")
        cx = x + bar
        parts.append(f"<text transform='translate({cx:.1f},{_H - _PAD_B + 10}) rotate(35)'>"
                     f"{html.escape(label[:18])}</text>")
    parts.append("</svg>")
    return "".join(parts)
