"""The reproduction report: paired bootstrap intervals and verdicts by hand, and a quick end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.reproduction.bootstrap import VERDICTS, Interval, paired_interval, verdict


def test_a_constant_paired_difference_has_a_point_interval():
    interval = paired_interval([np.ones(6)], [np.zeros(6)], replicates=50)
    assert (interval.difference, interval.low, interval.high) == (1.0, 1.0, 1.0)
    assert verdict(interval, +1) == "reproduced" and verdict(interval, -1) == "reversed"


def test_pairing_removes_what_the_examples_share():
    base = np.linspace(0, 1, 40)  # large example-to-example spread, shared by both sides
    interval = paired_interval([base + 0.1], [base], replicates=200)
    assert interval.low == pytest.approx(0.1) and interval.high == pytest.approx(0.1)


def test_an_interval_around_zero_is_not_resolved():
    a, b = np.array([0.0, 1.0] * 10), np.array([1.0, 0.0] * 10)
    interval = paired_interval([a], [b], replicates=500, seed=3)
    assert interval.difference == 0.0 and interval.low < 0 < interval.high
    assert verdict(interval, +1) == verdict(interval, -1) == "not resolved at this n"


def test_seeds_are_resampled_too():
    # seed 0 gives a difference of exactly 1, seed 1 of exactly 3: the pooled interval spans the seeds
    interval = paired_interval([np.full(5, 1.0), np.full(5, 3.0)], [np.zeros(5), np.zeros(5)], replicates=400)
    assert interval.difference == 2.0 and interval.low == 1.0 and interval.high == 3.0
    assert [s[0] for s in interval.per_seed] == [1.0, 3.0] and interval.per_seed[0][1:] == (1.0, 1.0)


def test_a_statistic_over_dicts_of_arrays():
    a = [{"x": np.array([1.0, 2.0, 3.0]), "y": np.array([1.0, 1.0, 1.0])}]
    b = [{"x": np.array([0.0, 0.0, 0.0]), "y": np.array([1.0, 1.0, 1.0])}]
    interval = paired_interval(a, b, statistic=lambda v: float(v["x"].sum() / v["y"].sum()), replicates=50)
    assert interval.difference == pytest.approx(2.0)


def test_bad_sides_are_refused():
    with pytest.raises(ValueError, match="same number"):
        paired_interval([np.ones(3)], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="same examples"):
        paired_interval([np.ones(3)], [np.ones(4)])
    with pytest.raises(ValueError, match="direction"):
        verdict(Interval(0.0, -1.0, 1.0), 0)


def test_comparisons_are_well_formed():
    from core.reproduction.comparisons import COMPARISONS, METRICS, QUICK_IDS

    ids = [c.id for c in COMPARISONS]
    assert len(ids) == len(set(ids)) and set(QUICK_IDS) <= set(ids)
    for c in COMPARISONS:
        assert c.kind in ("models", "explainers") and c.metric in METRICS and c.direction in (1, -1)
        assert (c.model is not None) == (c.kind == "explainers")
        assert c.explainer is not None or c.metric in ("accuracy", "silhouette") or c.kind == "explainers"


def test_quick_report_runs_end_to_end(masklens_home, tmp_path, capsys):
    from core.cli_common import run_cli
    from core.reproduce import main

    assert run_cli(main, ["--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    markdown = (tmp_path / "report.md").read_text()
    assert report["settings"]["quick"] and "not claimed" in markdown and markdown == capsys.readouterr().out[
        :len(markdown)]
    kinds = {row["comparison"]["kind"] for row in report["rows"]}
    assert kinds == {"models", "explainers"} and len(report["rows"]) == 5
    for row in report["rows"]:
        interval = row["interval"]
        assert interval["low"] <= interval["difference"] <= interval["high"] or np.isnan(interval["difference"])
        assert row["verdict"] in VERDICTS and f"**{row['verdict']}**" in markdown
    assert report["environment"]["data_fingerprints"]["trec6"]
    for bad, message in ((["--only", "no-such-row"], "unknown comparison id"), (["--only", ","], "unknown comparison"),
                         (["--seeds", "a,b"], "--seeds must be"), (["--seeds", ""], "--seeds must be"),
                         (["--n", "0"], "--n must be at least 1"), (["--replicates", "9"], "--replicates must be at least 10")):
        capsys.readouterr()
        assert run_cli(main, ["--quick", "--out", str(tmp_path / "bad"), *bad]) == 2
        assert message in capsys.readouterr().err
