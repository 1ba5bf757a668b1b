"""VAT (Zhou et al. 2021): attention pooling, the VIB compressor's KL, the alternating schedule, the explainer."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from core.data.datasets import load_dataset
from core.explain import ExplainError, explain, get_explainer
from core.models import load_model
from core.models.attention import AdditiveAttention, VIBCompressor, gaussian_kl_to_standard_normal, vib_loss
from core.training import TrainSettings, train
from core.training.freezing import trainable_only
from core.training.trainer import _optimizer, _train_step, epoch_phases
from core.training.vat import phase_plan, trainable_prefixes
from tests.toy import toy_dataset


@pytest.fixture(scope="module")
def toy_vat():
    """An LSTM-VAT trained on the toy task (attention warm-up + one compress/learn round)."""
    return train(TrainSettings(architecture="lstm", method="vat", epochs=4, vat_iterations=1, seed=0),
                 data=toy_dataset(), save=False, progress=False)


def test_vib_kl_matches_the_closed_form():
    mean = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    std = torch.tensor([[1.0, 0.5], [1.0, 1.0]])
    # 0.5 * (1 + 1 - 1 - log 1) + 0.5 * (0 + 0.25 - 1 - log 0.25); a standard normal has KL 0
    expected = torch.tensor([0.5 + 0.5 * (0.25 - 1 - math.log(0.25)), 0.0])
    assert torch.allclose(gaussian_kl_to_standard_normal(mean, std), expected, atol=1e-6)
    reference = torch.distributions.kl_divergence(torch.distributions.Normal(mean, std),
                                                  torch.distributions.Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(gaussian_kl_to_standard_normal(mean, std), reference, atol=1e-6)


def test_vib_loss_is_cross_entropy_plus_beta_kl_and_eval_uses_the_mean():
    torch.manual_seed(0)
    compressor = VIBCompressor(6, num_classes=3, latent_dim=4).eval()
    rep, labels = torch.randn(5, 6), torch.tensor([0, 1, 2, 1, 0])
    out = compressor(rep)
    assert torch.equal(out.z, compressor.mean(rep))
    expected = torch.nn.functional.cross_entropy(out.logits, labels) + 0.1 * out.kl.mean()
    assert vib_loss(out, labels, beta=0.1).item() == pytest.approx(expected.item())


def test_attention_weights_are_a_softmax_over_real_positions_and_r_is_their_sum():
    torch.manual_seed(0)
    attention = AdditiveAttention(4, 3)
    states = torch.randn(2, 5, 4)
    valid = torch.tensor([[True, True, True, False, False], [True] * 5])
    rep, alpha = attention(states, valid)
    scores = (attention.v_a(torch.tanh(attention.W_a(states[0, :3])))).squeeze(-1)
    assert torch.allclose(alpha[0, :3], torch.softmax(scores, 0), atol=1e-6)
    assert torch.all(alpha[0, 3:] == 0) and torch.allclose(alpha.sum(1), torch.ones(2))
    assert torch.allclose(rep, (alpha.unsqueeze(-1) * states).sum(1), atol=1e-6)


def test_phase_plan_is_warm_up_then_compressor_learner_rounds():
    assert phase_plan(2, 2) == ["joint", "joint", "compress", "learn", "compress", "learn"]
    assert phase_plan(1, 1, phase_epochs=2) == ["joint", "compress", "compress", "learn", "learn"]
    settings = TrainSettings(architecture="minilm", method="vat", epochs=1).resolved()
    assert settings.vat_iterations == 2
    assert epoch_phases(settings) == ["joint", "compress", "learn", "compress", "learn"]


def _one_step_changes(loaded, phase):
    """Names of parameters that one training step in ``phase`` changed, and requires_grad inside the phase."""
    settings = TrainSettings(architecture="lstm", method="vat", epochs=1, vat_iterations=1).resolved()
    net = loaded.model.model
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    optimizer = _optimizer(loaded.model, settings)
    data = toy_dataset(n_train=50)
    batch = loaded.model.encode(list(data.train.texts))
    labels = torch.tensor(data.train.labels)
    net.train()
    with trainable_only(net, trainable_prefixes(phase, "lstm")) as trainable:
        grads_on = {k for k, v in net.named_parameters() if v.requires_grad}
        _train_step(loaded.model, settings, optimizer, batch, labels, 0.1, phase)
    net.eval()
    changed = {k for k, v in net.named_parameters() if not torch.equal(v, before[k])}
    return changed, grads_on, set(trainable)


def test_compressor_phase_updates_only_attention_and_compressor(toy_vat):
    changed, grads_on, _ = _one_step_changes(toy_vat, "compress")
    assert grads_on == {"attention.W_a.weight", "attention.v_a.weight"} | {
        k for k, _ in toy_vat.model.model.named_parameters() if k.startswith("compressor.")}
    assert changed and changed <= grads_on
    assert {"attention.W_a.weight", "attention.v_a.weight"} <= changed
    assert toy_vat.model.model.lstm.weight_ih_l0.requires_grad  # restored after the phase
    assert not toy_vat.model.model.embedding.weight.requires_grad  # frozen GloVe stays frozen


def test_learner_phase_freezes_the_attention(toy_vat):
    changed, grads_on, _ = _one_step_changes(toy_vat, "learn")
    assert not any(k.startswith(("attention.", "compressor.", "embedding.")) for k in grads_on)
    assert {k.split(".")[0] for k in changed} == {"lstm", "head"}


def test_toy_run_records_its_phases_and_learns(toy_vat):
    assert [h["phase"] for h in toy_vat.history] == ["joint"] * 4 + ["compress", "learn"]
    assert toy_vat.metrics["best_epoch"] in (5, 6)  # a VAT model has been through a compressor phase
    assert toy_vat.metrics["test_accuracy"] > 0.85
    assert "global_importance" not in toy_vat.model.config


def test_short_lstm_vat_run_on_movie_snippets_beats_the_majority_class():
    data = load_dataset("movie-snippets").subset(max_train=2000, max_eval=400, seed=0)
    result = train(TrainSettings(architecture="lstm", method="vat", epochs=3, vat_iterations=1), data=data,
                   save=False, progress=False)
    assert result.metrics["test_accuracy"] > result.metrics["majority_test_accuracy"] + 0.1, result.metrics


def test_representation_is_the_attention_sum(toy_vat):
    net = toy_vat.model.model
    batch = toy_vat.model.encode(["the movie was great", "awful plot"])
    with torch.no_grad():
        rep = net.represent(net.embed(batch.input_ids), batch.attention_mask)
        hidden, _ = net.lstm(net.embed(batch.input_ids))
        alpha = net.attention_weights(batch.input_ids, batch.attention_mask)
    assert torch.allclose(rep, (alpha.unsqueeze(-1) * hidden).sum(1), atol=1e-6)


def test_attention_explainer_gives_each_word_its_weight(toy_vat):
    run = explain(toy_vat.model, "the plot was awful", methods=["attention", "vmask", "zero"])
    scores = run.get("attention").scores
    assert len(scores) == 4 and sum(scores) == pytest.approx(1.0, abs=1e-6) and min(scores) >= 0
    assert "vmask" in run.skipped and run.get("zero") is not None
    assert run.get("attention").signed is False


def test_attention_explainer_is_skipped_for_models_without_attention():
    base = train(TrainSettings(architecture="lstm", method="base", epochs=1), data=toy_dataset(n_train=60),
                 save=False, progress=False).model
    run = explain(base, "the plot was awful", methods=["attention", "zero"])
    assert "pools without attention" in run.skipped["attention"]
    with pytest.raises(ExplainError, match="att or vat"):
        get_explainer("attention", base)


def test_bad_pooling_phase_and_missing_compressor_are_refused(toy_vat):
    from core.models.lstm import LSTMClassifier
    from core.training.vat import phase_loss

    with pytest.raises(ValueError, match="unknown LSTM pooling 'sum'"):
        LSTMClassifier(torch.zeros(5, 4), num_classes=2, pooling="sum")
    with pytest.raises(ValueError, match="unknown VAT phase 'warmup'"):
        trainable_prefixes("warmup", "lstm")
    base = LSTMClassifier(torch.zeros(5, 4), num_classes=2, pooling="attention")
    batch = toy_vat.model.encode(["a b"])
    with pytest.raises(ValueError, match="needs a model built with a VIB compressor"):
        phase_loss(base, batch, torch.tensor([0]), "compress", beta=0.1)


@pytest.mark.parametrize("architecture", ["cnn"])
def test_vat_refuses_architectures_without_an_attention_learner(architecture):
    with pytest.raises(ValueError, match="needs architecture lstm or minilm"):
        train(TrainSettings(architecture=architecture, method="vat"), data=toy_dataset(), save=False, progress=False)


def test_vat_checkpoint_round_trip_keeps_predictions_and_attention(toy_vat, masklens_home):
    from core.models import save_model

    path = save_model(toy_vat.model, masklens_home / "models" / "toy-vat")
    loaded = load_model(path, device="cpu")
    texts = ["the movie was great", "boring acting"]
    assert torch.allclose(torch.tensor(loaded.predict_proba(texts)), torch.tensor(toy_vat.model.predict_proba(texts)))
    assert loaded.model.compressor is not None
    assert get_explainer("attention", loaded).explain(texts[0]).scores == pytest.approx(
        get_explainer("attention", toy_vat.model).explain(texts[0]).scores)


def test_train_cli_runs_vat(tmp_path, masklens_home):
    data = toy_dataset(n_train=120, n_eval=20)
    csv_path = tmp_path / "toy.csv"
    rows = ["text,label"] + [f"{t},{data.label_names[y]}" for t, y in zip(data.train.texts, data.train.labels)]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "core.train", "--csv", str(csv_path), "--model", "lstm", "--method", "vat",
           "--epochs", "1", "--vat-iterations", "1", "--vib-beta", "0.01", "--name", "cli-vat", "--no-progress",
           "--format", "json", "--device", "cpu"]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "MASKLENS_HOME": str(masklens_home)})
    assert out.returncode == 0, out.stderr
    config = json.loads((masklens_home / "models" / "cli-vat" / "config.json").read_text())
    assert config["training"]["vib_beta"] == 0.01 and [h["phase"] for h in config["history"]] == [
        "joint", "compress", "learn"]
    bad = subprocess.run([sys.executable, "-m", "core.train", "--csv", str(csv_path), "--model", "cnn", "--method",
                          "vat", "--no-progress"], capture_output=True, text=True,
                         env={**os.environ, "MASKLENS_HOME": str(masklens_home)})
    assert bad.returncode == 2 and "needs architecture lstm or minilm" in bad.stderr
