"""The reproduction report drawn: a forest plot of each comparison's paired difference and interval.

Takes the report dict of :func:`core.reproduction.run_report` (or ``load_report()``), so a notebook
draws what the Reproductions page draws. A row's difference is normalised by the paper's direction
(``direction * (A - B)``), so every interval right of 0 reproduces the paper and left of 0 reverses it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

VERDICT_COLORS = {"reproduced": "#1a7f37", "reversed": "#cf222e", "not resolved at this n": "#6e7781"}


def report_table(report: dict) -> pd.DataFrame:
    """One row per comparison: finding, verdict, difference [CI], both sides' means, metric, paper, seeds, n,
    the page where it is measured (the verdict and interval next to the finding, so they read without scrolling)."""
    from core.reproduction.comparisons import page_of

    rows = []
    for row in report["rows"]:
        c, i = row["comparison"], row["interval"]
        rows.append({"finding": c["claim"], "verdict": row["verdict"], "A - B": round(i["difference"], 4),
                     "95% CI": f"[{i['low']:.3f}, {i['high']:.3f}]",
                     "A": f"{c['a']} {row['a']['mean']:.3f}", "B": f"{c['b']} {row['b']['mean']:.3f}",
                     "metric": c["metric"], "paper": c["paper"], "seeds": len(row["seeds"]), "n": row["n"],
                     "page": page_of(c), "id": c["id"]})
    return pd.DataFrame(rows)


def forest_plot(report: dict) -> go.Figure:
    """Each comparison's direction-normalised difference with its 95% interval, coloured by verdict."""
    fig = go.Figure()
    labels = [row["comparison"]["id"] for row in report["rows"]]
    for verdict, color in VERDICT_COLORS.items():
        chosen = [row for row in report["rows"] if row["verdict"] == verdict]
        if not chosen:
            continue
        sign = [row["comparison"]["direction"] for row in chosen]
        centre = [s * row["interval"]["difference"] for s, row in zip(sign, chosen)]
        low = [min(s * row["interval"]["low"], s * row["interval"]["high"]) for s, row in zip(sign, chosen)]
        high = [max(s * row["interval"]["low"], s * row["interval"]["high"]) for s, row in zip(sign, chosen)]
        fig.add_trace(go.Scatter(
            x=centre, y=[row["comparison"]["id"] for row in chosen], mode="markers", name=verdict,
            marker={"color": color, "size": 9},
            error_x={"type": "data", "symmetric": False, "array": [h - c for h, c in zip(high, centre)],
                     "arrayminus": [c - lo for c, lo in zip(centre, low)], "color": color, "thickness": 2},
            customdata=[[row["comparison"]["claim"], row["comparison"]["metric"]] for row in chosen],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}: %{x:.4f}<extra>" + verdict + "</extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="#57606a")
    fig.update_layout(title="Paired difference in the paper's direction, with 95% intervals",
                      xaxis_title="direction × (A − B)  (right of 0: as the paper found)",
                      yaxis={"categoryorder": "array", "categoryarray": labels[::-1], "automargin": True},
                      height=max(320, 34 * len(labels) + 120), margin={"l": 20, "r": 20, "t": 50, "b": 45},
                      legend_title_text="verdict")
    return fig
