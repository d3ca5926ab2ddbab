"""A self-contained HTML page of a fairness report (no scripts, no external assets)."""

from __future__ import annotations

import html

from modelport.monitoring.fairness import FairnessReport, Rate

__all__ = ["render_fairness_html"]


def _cell(rate: Rate) -> str:
    if rate.value is None:
        return "<td>-</td>"
    ci = f" <small>[{rate.ci[0]:.3f}, {rate.ci[1]:.3f}]</small>" if rate.ci else ""
    return f"<td>{rate.value:.3f}{ci}</td>"


def render_fairness_html(report: FairnessReport) -> str:
    rows = "".join(
        f"<tr class='{'small' if g.small else ''}'><td>{html.escape(g.group)}</td>"
        f"<td>{g.rows}</td><td>{g.labelled}</td>{_cell(g.selection_rate)}{_cell(g.tpr)}"
        f"{_cell(g.fpr)}{_cell(g.precision)}</tr>"
        for g in report.groups)
    gaps = "".join(f"<tr><td>{html.escape(k)}</td><td>{'-' if v is None else f'{v:.3f}'}"
                   "</td></tr>" for k, v in report.gaps.items())
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    title = f"Fairness of {report.model} by {report.column}"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}tr.small{{color:#999}}
</style></head><body><h1>{html.escape(title)}</h1>
<p>Threshold {report.threshold}; rates with 95% Wilson intervals.</p>
<table><tr><th>group</th><th>rows</th><th>labelled</th><th>selection rate</th><th>TPR</th>
<th>FPR</th><th>precision</th></tr>{rows}</table>
<h2>Gaps</h2><table>{gaps}</table><h2>Warnings</h2><ul>{warnings or '<li>none</li>'}</ul>
</body></html>"""
