"""Reproductions page: the papers' headline comparisons as measured, with intervals (a forest plot)."""

from __future__ import annotations

import streamlit as st

from ui.common import PAGES, guarded, page_setup

PAGE_FILES = {label: script for script, label, _ in PAGES}  # a report row names its page by label


def main() -> None:
    """Lay out the page."""
    from core.reproduction import load_report
    from core.reproduction.comparisons import page_of
    from core.viz.reproduction import forest_plot, report_table

    st.title("Reproductions")
    st.markdown("Each row is one of the papers' headline comparisons, measured on the shipped models: both sides "
                "over the training seeds (paired by seed) on the same test examples, the paired difference with a "
                "95% bootstrap interval across seeds and examples, and a verdict computed from the interval. "
                "Rebuild it with `python -m core.reproduce`.")
    report = load_report()
    if report is None:
        st.info("No reproduction report is shipped here; run `python -m core.reproduce` to make one.")
        return
    if report["settings"].get("quick"):
        st.warning("This is a quick (CI-sized) report: its numbers are not claimed.")
    environment = report["environment"]
    st.caption(f"Seeds {report['settings']['seeds']}, n = {report['settings']['n']} per row unless the row says "
               f"otherwise, {report['settings']['replicates']} bootstrap replicates; commit "
               f"{(environment.get('commit') or 'unknown')[:10]}, torch {environment.get('torch')}.")
    st.plotly_chart(forest_plot(report), key="repro_forest")
    table = report_table(report)
    st.dataframe(table.drop(columns=["id"]), hide_index=True, key="repro_table",
                 column_config={"finding": st.column_config.TextColumn(width="large")})
    st.subheader("Open a row's page")
    chosen = st.selectbox("Comparison", list(table["id"]), key="repro_row")
    row = next(r for r in report["rows"] if r["comparison"]["id"] == chosen)
    comparison = row["comparison"]
    st.markdown(f"**{comparison['claim']}** ({comparison['paper']}): verdict **{row['verdict']}**.")
    if comparison["note"]:
        st.caption(comparison["note"])
    label = page_of(comparison)
    page = PAGE_FILES.get(label)
    if page == "app.py":  # accuracies: nothing to measure on a page, Home lists each checkpoint's test accuracy
        st.page_link(page, label="See the models' test accuracies on Home", icon=":material/open_in_new:")
    elif page:
        st.page_link(page, label=f"Measure it on the {label} page", icon=":material/open_in_new:")


page_setup("Reproductions")
with guarded("The Reproductions page failed"):
    main()
