"""core.evaluation / python -m core.evaluate: record shape, the resumable store, the CLI."""

from __future__ import annotations

import json
import math

import pytest

from core.cli_common import run_cli
from core.evaluate import main as cli_main
from core.evaluation import EvaluationStore, evaluate
from core.explain.erasure import ZeroErasure

MODEL = "cnn-vmask-movie-snippets"
ARGS = dict(explainers=("vmask", "zero"), metrics=("aopc", "posthoc", "degradation"), n=8, device="cpu",
            progress=False)


@pytest.fixture
def zero_calls(monkeypatch):
    """Counts ZeroErasure.explain calls; set ``fail_after`` to raise after that many (a killed run)."""
    state = {"calls": 0, "fail_after": None}
    original = ZeroErasure.explain

    def counting(self, text, target=None):
        if state["fail_after"] is not None and state["calls"] >= state["fail_after"]:
            raise RuntimeError("simulated crash")
        state["calls"] += 1
        return original(self, text, target)

    monkeypatch.setattr(ZeroErasure, "explain", counting)
    return state


def _zero_file(home):
    files = list((home / "evaluations").glob("*/explanations/zero-*.json"))
    assert len(files) == 1, files
    return files[0]


def test_records_shape_and_finite_values(masklens_home):
    calls = []
    records = evaluate(MODEL, **ARGS, on_progress=lambda done, total, stage: calls.append((done, total, stage)))
    assert calls[-1] == (16, 16, "zero: degradation") and [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert [r["explainer"] for r in records] == ["vmask", "zero"]
    for r in records:
        assert r["n"] == 8 and r["skipped"] is None and r["explained"] == 8 and r["seconds"] >= 0
        assert isinstance(r["params"], dict)
        m = r["metrics"]
        assert set(m) == {"aopc", "posthoc", "degradation"}
        assert math.isfinite(m["aopc"]["value"]) and len(m["aopc"]["per_k"]) == 10
        assert sorted(m["posthoc"]) == list(range(1, 11))
        assert all(0 <= v <= 1 for v in m["posthoc"].values())
        d = m["degradation"]
        assert math.isfinite(d["score"]) and len(d["fractions"]) == len(d["morf"]) == len(d["lerf"]) == 11
    json.dumps(records)  # JSON-ready


def test_second_run_is_served_from_the_store(masklens_home, zero_calls, monkeypatch):
    first = evaluate(MODEL, **ARGS)
    assert zero_calls["calls"] == 8
    import core.evaluation.runner as runner

    def no_metric(*args, **kwargs):
        raise AssertionError("metric recomputed instead of read from the store")

    monkeypatch.setattr(runner, "compute_metric", no_metric)
    second = evaluate(MODEL, **ARGS)
    assert zero_calls["calls"] == 8 and [r["explained"] for r in second] == [0, 0]
    assert [r["metrics"] for r in second] == [r["metrics"] for r in first]


def test_killed_run_resumes_with_only_the_missing_examples(masklens_home, zero_calls):
    zero_calls["fail_after"] = 3
    with pytest.raises(RuntimeError, match="simulated crash"):
        evaluate(MODEL, **{**ARGS, "explainers": ("zero",)}, flush_every=2)
    data = json.loads(_zero_file(masklens_home).read_text())  # valid JSON
    assert len(data["explanations"]) == 3
    zero_calls["fail_after"] = None
    records = evaluate(MODEL, **{**ARGS, "explainers": ("zero",)})
    assert zero_calls["calls"] == 8 and records[0]["explained"] == 5 and records[0]["n"] == 8
    assert len(json.loads(_zero_file(masklens_home).read_text())["explanations"]) == 8


def test_corrupt_store_file_is_moved_aside(masklens_home, zero_calls):
    evaluate(MODEL, **{**ARGS, "explainers": ("zero",)})
    path = _zero_file(masklens_home)
    path.write_text('{"format": "masklens-evaluation-expl')  # truncated
    with pytest.warns(RuntimeWarning, match="unreadable evaluation store file"):
        records = evaluate(MODEL, **{**ARGS, "explainers": ("zero",)})
    assert path.with_name(path.name + ".corrupt").is_file()
    assert records[0]["explained"] == 8 and zero_calls["calls"] == 16
    assert len(json.loads(path.read_text())["explanations"]) == 8


def test_metric_cache_ignores_a_corrupt_file(tmp_path):
    store = EvaluationStore(tmp_path)
    key = store.metric_key("f" * 64, "zero", {}, "aopc", {"k_max": 10}, ["2", "1"])
    assert key["example_ids"] == ["1", "2"]
    store.put_metric(key, {"value": 0.5})
    assert store.get_metric(key) == {"value": 0.5}
    store.metric_path(key).write_text("not json")
    with pytest.warns(RuntimeWarning):
        assert store.get_metric(key) is None


def test_explainer_that_does_not_apply_is_skipped(masklens_home):
    records = evaluate("cnn-base-movie-snippets", **{**ARGS, "n": 2, "metrics": ("aopc",)})
    assert records[0]["explainer"] == "vmask" and records[0]["skipped"] and records[0]["metrics"] == {}
    assert records[1]["n"] == 2 and "aopc" in records[1]["metrics"]


def test_deletion_operation_is_part_of_the_key_and_mlm_is_seeded(masklens_home):
    base = dict(ARGS, explainers=("zero",), metrics=("aopc", "degradation"), n=4)
    removed = evaluate(MODEL, **base)[0]
    zeroed = evaluate(MODEL, **base, operation="zero", aopc_k=5)[0]
    assert zeroed["explained"] == 0  # the explanations are shared; only the metrics differ
    assert zeroed["metrics"]["aopc"]["k_max"] == 5 and len(zeroed["metrics"]["aopc"]["per_k"]) == 5
    assert zeroed["metrics"]["aopc"]["per_k"] != removed["metrics"]["aopc"]["per_k"][:5]
    mlm = [evaluate(MODEL, **base, operation="mlm", seed=seed)[0]["metrics"]["aopc"]["per_k"] for seed in (0, 0, 1)]
    assert mlm[0] == mlm[1] and mlm[0] != mlm[2]
    with pytest.raises(ValueError, match="deletion operation"):
        evaluate(MODEL, **base, operation="blank")


def test_auc_rep_record_has_the_mean_curve(masklens_home):
    record = evaluate(MODEL, **dict(ARGS, explainers=("zero",), metrics=("auc_rep",), n=3))[0]
    result = record["metrics"]["auc_rep"]
    assert result["fractions"] == pytest.approx([0.02 * i for i in range(11)])
    assert len(result["mean_curve"]) == 11 and 0 <= min(result["mean_curve"]) <= max(result["mean_curve"]) <= 1
    assert result["mean_curve"][0] >= 0.5 and 0 <= result["value"] <= 1  # p(y|x) of the predicted class first


def test_global_importance_explainer_ranks_by_the_stored_table(masklens_home):
    """For the CNN, VMASK's mask reads one word embedding, so the per-example and global rankings agree."""
    from core.explain.registry import get_explainer, skip_reason
    from core.models import load_model

    model = load_model(MODEL, device="cpu")
    table = dict(zip(model.config["global_importance"]["words"], model.config["global_importance"]["scores"]))
    text = "a gorgeous , witty , seductive movie zzzunseen"
    explanation = get_explainer("global", model).explain(text)
    assert explanation.scores == [table.get(w, 0.0) for w in explanation.words]
    assert explanation.details["unseen_words"] == ["zzzunseen"] and explanation.signed is False
    per_example = get_explainer("vmask", model).explain(text).scores
    assert per_example[:-1] == pytest.approx(explanation.scores[:-1], abs=2e-3)  # fp16 weights, 6-digit table
    assert "trained without one" in skip_reason("global", load_model("cnn-base-movie-snippets", device="cpu"))


def test_cli_json(masklens_home, capsys):
    status = run_cli(cli_main, ["--model", MODEL, "--explainers", "vmask,zero", "--metrics", "aopc,posthoc",
                                "--n", "4", "--device", "cpu", "--no-progress", "--format", "json"])
    assert status == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["explainer"] for r in records] == ["vmask", "zero"]
    assert records[0]["n"] == 4 and "1" in records[0]["metrics"]["posthoc"]


def test_cli_table(masklens_home, capsys):
    assert run_cli(cli_main, ["--model", MODEL, "--explainers", "zero", "--metrics", "aopc,degradation",
                              "--n", "3", "--device", "cpu", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "AOPC" in out and "zero" in out


@pytest.mark.parametrize("argv, message", [
    (["--model", "no-such-model", "--n", "2"], "no-such-model"),
    (["--model", MODEL, "--explainers", "bogus"], "bogus"),
    (["--model", MODEL, "--metrics", "accuracy"], "accuracy"),
    (["--model", MODEL, "--n", "0"], "n must be"),
])
def test_cli_bad_input_exits_2(masklens_home, capsys, argv, message):
    assert run_cli(cli_main, argv) == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_operation_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--model", MODEL, "--operation", "blank"])
    assert exit_info.value.code == 2 and "invalid choice: 'blank'" in capsys.readouterr().err


def test_cli_table_shows_the_eraser_metrics(masklens_home, capsys):
    assert run_cli(cli_main, ["--model", MODEL, "--explainers", "zero", "--metrics", "comprehensiveness,sufficiency",
                              "--n", "3", "--device", "cpu", "--no-progress", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert run_cli(cli_main, ["--model", MODEL, "--explainers", "zero", "--metrics", "comprehensiveness,sufficiency",
                              "--n", "3", "--device", "cpu", "--no-progress"]) == 0
    header, row = capsys.readouterr().out.splitlines()[:3:2]
    assert "comprehensiveness" in header and "sufficiency" in header
    assert f"{record['metrics']['comprehensiveness']['value']:.4f}" in row
