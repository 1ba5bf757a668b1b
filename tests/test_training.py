"""Training: beats the majority class on real data, reproducible, stoppable, CLI and bad settings."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.data.datasets import load_dataset
from core.training import TrainSettings, train
from core.training.methods import annealed_beta, step_beta
from tests.toy import toy_dataset

PROBES = ["a great movie", "the plot was awful", "boring acting"]


@pytest.mark.parametrize("dataset, architecture, method", [
    ("movie-snippets", "cnn", "vmask"),
    ("movie-snippets", "lstm", "base"),
    ("trec6", "cnn", "vmask"),
])
def test_short_run_on_real_data_beats_majority_class(dataset, architecture, method):
    data = load_dataset(dataset).subset(max_train=2000, max_eval=400, seed=0)
    result = train(TrainSettings(architecture=architecture, method=method, epochs=4), data=data, save=False,
                   progress=False)
    majority = result.metrics["majority_test_accuracy"]
    assert result.metrics["test_accuracy"] > majority + 0.1, result.metrics


@pytest.mark.parametrize("method", ["l2", "iba", "l2x"])
def test_every_method_learns_the_toy_task(method):
    result = train(TrainSettings(architecture="cnn", method=method, epochs=4), data=toy_dataset(), save=False,
                   progress=False)
    assert result.metrics["test_accuracy"] > 0.75, result.metrics


def test_minilm_vmask_fine_tunes_on_cpu():
    result = train(TrainSettings(architecture="minilm", method="vmask", epochs=1), data=toy_dataset(), save=False,
                   progress=False)
    assert result.metrics["test_accuracy"] > 0.8, result.metrics
    top = result.model.config["global_importance"]["words"][:8]
    assert len(set(top) & {"great", "good", "wonderful", "superb", "bad", "awful", "terrible", "boring"}) >= 3


def test_training_is_reproducible_on_cpu():
    runs = [train(TrainSettings(architecture="lstm", method="vmask", epochs=2, seed=3), data=toy_dataset(),
                  save=False, progress=False) for _ in range(2)]
    first, second = (r.model.model.state_dict() for r in runs)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert np.array_equal(runs[0].model.predict_proba(PROBES), runs[1].model.predict_proba(PROBES))


def test_callback_sees_progress_and_can_stop():
    events = []

    def stop_after_three_steps(event):
        events.append(event)
        return event.step < 3

    result = train(TrainSettings(architecture="cnn", method="vmask", epochs=5), data=toy_dataset(),
                   callback=stop_after_three_steps, save=False, progress=False)
    assert result.stopped_early
    assert [e.kind for e in events] == ["step", "step", "step"]
    assert len(result.history) == 1 and result.metrics["best_epoch"] == 1


def test_vmask_beta_is_annealed_from_start_to_end():
    assert annealed_beta(0, 100, 1.0, 0.01) == pytest.approx(1.0)
    assert annealed_beta(99, 100, 1.0, 0.01) == pytest.approx(0.01)
    assert annealed_beta(49.5, 100, 1.0, 0.01) == pytest.approx(0.1)  # geometric midpoint
    betas = [annealed_beta(s, 100, 1.0, 0.01) for s in range(100)]
    assert all(a > b for a, b in zip(betas, betas[1:]))


def test_the_default_beta_schedule_is_the_authors_step_rule():
    # the released scripts: beta = 1; after every 10th epoch "if beta > 0.01: beta -= 0.099"
    expected = {1: 1.0, 10: 1.0, 11: 0.901, 20: 0.901, 21: 0.802, 91: 0.109, 100: 0.109, 101: 0.01, 150: 0.01}
    for epoch, beta in expected.items():
        assert step_beta(epoch, 1.0, 0.01, 0.099, 10) == pytest.approx(beta), epoch
    assert step_beta(3, 1.0, 0.01, 0.099, 1) == pytest.approx(0.802)  # the BERT script: every epoch
    assert step_beta(30, 1.0, 0.5, 0.3, 1) == 0.5  # never below the floor
    assert TrainSettings().beta_schedule == "step"


def test_the_trainer_uses_the_schedule_per_epoch():
    seen = {}

    def record(event):
        seen.setdefault(event.epoch, set()).add(round(event.beta, 6))

    settings = TrainSettings(architecture="cnn", method="vmask", epochs=3, beta_every=1, beta_decrement=0.25)
    train(settings, data=toy_dataset(n_train=60, n_eval=20), callback=record, save=False, progress=False)
    assert seen == {1: {1.0}, 2: {0.75}, 3: {0.5}}
    geometric = []
    train(TrainSettings(architecture="cnn", method="vmask", epochs=2, beta_schedule="geometric"),
          data=toy_dataset(n_train=60, n_eval=20), callback=lambda e: geometric.append(e.beta) if e.kind == "step"
          else None, save=False, progress=False)
    assert geometric[0] == pytest.approx(1.0) and geometric[-1] == pytest.approx(0.01)


@pytest.mark.parametrize("change, message", [
    ({"beta_schedule": "cosine"}, "unknown beta_schedule"),
    ({"beta_every": 0}, "beta_every >= 1"),
    ({"epochs": 0}, "epochs must be positive"),
    ({"method": "magic"}, "unknown method 'magic'"),
    ({"architecture": "gpt"}, "unknown architecture 'gpt'"),
    ({"beta_end": 2.0}, "beta_end"),
    ({"batch_size": 0}, "batch_size must be at least 1"),  # 0 is refused, not read as "use the default"
    ({"lr": 0.0}, "lr must be positive"),
    ({"mask_hidden": 0, "method": "vmask"}, "mask_hidden must be positive"),
    ({"architecture": "lstm", "minilm_trainable_layers": 1}, "needs architecture minilm"),
    ({"architecture": "lstm", "method": "vat", "vat_iterations": -1}, "vat_iterations must be 0 or more"),
    ({"supcon_tau": 0.0}, "supcon_tau must be positive"),
])
def test_bad_settings_are_refused_with_a_clear_message(change, message):
    with pytest.raises(ValueError, match=message):
        train(TrainSettings(**change), data=toy_dataset(), save=False, progress=False)


def write_toy_csv(path):
    data = toy_dataset(n_train=160, n_eval=20)
    rows = ["text,label"] + [f"{t},{data.label_names[y]}" for t, y in zip(data.train.texts, data.train.labels)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_cli_on_a_user_csv(tmp_path, masklens_home):
    csv_path = write_toy_csv(tmp_path / "mine.csv")
    cmd = [sys.executable, "-m", "core.train", "--csv", str(csv_path), "--model", "cnn", "--method", "vmask",
           "--epochs", "2", "--name", "cli-toy", "--no-progress", "--format", "json", "--device", "cpu"]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**__import__("os").environ,
                                                                    "MASKLENS_HOME": str(masklens_home)})
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["name"] == "cli-toy" and (masklens_home / "models" / "cli-toy" / "config.json").exists()
    listed = subprocess.run([sys.executable, "-m", "core.models", "list", "--format", "json"], capture_output=True,
                            text=True, env={**__import__("os").environ, "MASKLENS_HOME": str(masklens_home)})
    assert "cli-toy" in [r["name"] for r in json.loads(listed.stdout)]


def test_train_cli_reports_bad_input_without_a_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = subprocess.run([sys.executable, "-m", "core.train", "--csv", str(empty), "--no-progress"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
