"""The papers' headline comparisons, measured over seeds with paired bootstrap intervals (``python -m core.reproduce``).

``comparisons`` lists the findings, ``measure`` computes each side's per-example values, ``bootstrap``
the intervals and verdicts, ``report`` runs everything and writes ``assets/reproduction/report.{json,md}``.
"""

from core.reproduction.bootstrap import Interval, paired_interval, verdict
from core.reproduction.comparisons import COMPARISONS, Comparison
from core.reproduction.report import ReportSettings, load_report, markdown, run_report, write_report

__all__ = ["COMPARISONS", "Comparison", "Interval", "ReportSettings", "load_report", "markdown", "paired_interval",
           "run_report", "verdict", "write_report"]
