"""The shipped checkpoints: they load offline, their stored accuracy reproduces, VMASK keeps up with base."""

import numpy as np
import pytest

from core import paths
from core.data.datasets import load_dataset
from core.models import load_model
from core.registry import list_models

SHIPPED = [r for r in list_models(include_user=False) if r.source == "shipped"]
CONTEXT_MASK_METHODS = ("evarm", "evarm_mask")  # importance = mean over training occurrences, not per vocabulary word
# (so is a MiniLM mask model's: a word-piece model has no word vocabulary)


def _shipped_params():
    """MiniLM checkpoints take minutes to re-score on the CPU, so their reproduction check is slow."""
    return [pytest.param(r, marks=pytest.mark.slow) if r.architecture in ("minilm", "minilm-sim") else r
            for r in SHIPPED]


def _training_data(record, config):
    """The data the model was trained on: the bundled dataset, or the seeded subset its settings name."""
    if record.pair:
        from core.data.pairs import load_pair_dataset

        return load_pair_dataset(record.dataset)
    data = load_dataset(record.dataset)
    training = config.get("training", {})
    if training.get("max_train") or training.get("max_eval"):
        data = data.subset(training.get("max_train"), training.get("max_eval"), seed=training.get("seed", 0))
    return data
REQUIRED = {"cnn-base-movie-snippets", "cnn-vmask-movie-snippets", "lstm-base-movie-snippets",
            "lstm-vmask-movie-snippets", "cnn-base-trec6", "cnn-vmask-trec6"}


def test_the_required_models_are_shipped():
    assert REQUIRED <= {r.name for r in SHIPPED}
    for record in SHIPPED:
        assert paths.SHIPPED_CHECKPOINTS_DIR in __import__("pathlib").Path(record.path).parents


@pytest.mark.parametrize("record", _shipped_params(), ids=lambda r: r.name)
def test_stored_test_accuracy_reproduces(record):
    model = load_model(record.name, device="cpu")
    test = _training_data(record, model.config).test
    if record.pair:
        predicted = model.predict_proba(list(test.texts_a), list(test.texts_b)).argmax(1)
    else:
        predicted = model.predict_proba(list(test.texts)).argmax(1)
    accuracy = float(np.mean(predicted == np.array(test.labels)))
    assert accuracy == pytest.approx(record.test_accuracy, abs=0.003)  # fp16 storage may flip a prediction or two
    assert model.config["data_fingerprint"] == _training_data(record, model.config).fingerprint


@pytest.mark.parametrize("architecture, dataset", [("cnn", "movie-snippets"), ("lstm", "movie-snippets"),
                                                   ("cnn", "trec6")])
def test_vmask_is_not_more_than_one_point_below_base(architecture, dataset):
    """Over the shipped training seeds (paired: seeds 0, 1, 2 of each), the VMASK paper's Table 3 claim."""
    from core.checkpoints import read_config
    from core.reproduction.measure import seed_checkpoints

    def mean_accuracy(method):
        paths_ = seed_checkpoints(f"{architecture}-{method}-{dataset}", (0, 1, 2)).values()
        return float(np.mean([read_config(p)["metrics"]["test_accuracy"] for p in paths_])), len(paths_)

    (vmask, n_vmask), (base, n_base) = mean_accuracy("vmask"), mean_accuracy("base")
    assert n_vmask == n_base == 3 and vmask >= base - 0.01, (vmask, base)


def test_mask_models_carry_global_importance_for_their_vocabulary():
    for record in SHIPPED:
        config = load_model(record.name, device="cpu").config
        if record.method in ("vmask", "iba", "l2x") and "vocab" in config["model_config"]:
            importance = config["global_importance"]
            vocab = config["model_config"]["vocab"]
            assert len(importance["words"]) == len(vocab) - 2  # every word but <pad>, <unk>
            scores = importance["scores"]
            assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
        elif record.method in CONTEXT_MASK_METHODS or record.architecture == "minilm" and record.method == "vmask":
            importance = config["global_importance"]
            assert len(importance["words"]) > 1000 and min(importance["counts"]) >= 1
            scores = importance["scores"]
            assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
        else:
            assert "global_importance" not in config


def _vat_checkpoints():
    from core.reproduction.measure import SEEDS_DIR

    shipped = [r.path for r in SHIPPED if r.method == "vat"]
    seeds = sorted(str(p) for p in SEEDS_DIR.glob("*-vat-*-seed*")) if SEEDS_DIR.is_dir() else []
    return shipped + seeds


@pytest.mark.parametrize("path", _vat_checkpoints(), ids=lambda p: __import__("pathlib").Path(p).name)
def test_shipped_vat_went_through_its_compressor_phase(path):
    """The kept epoch is after the attention warm-up, and q(y|z) beats the majority class on dev."""
    import torch

    model = load_model(path, device="cpu")
    config = model.config
    warmup = config["training"]["epochs"]
    assert config["metrics"]["best_epoch"] > warmup, "the kept epoch is one of the ATT warm-up's"
    assert [h["phase"] for h in config["history"]][warmup] == "compress"
    dev = load_dataset(config["dataset"]).dev
    net = model.model.eval()
    with torch.no_grad():
        batch = model.encode(list(dev.texts))
        masked = net.mask(net.embed(batch.input_ids), batch.token_mask).masked
        logits = net.compressor(net.represent(masked, batch.attention_mask.bool())).logits
    head_accuracy = float((logits.argmax(1).numpy() == np.array(dev.labels)).mean())
    majority = float(np.bincount(dev.labels).max() / len(dev.labels))
    assert head_accuracy > majority + 0.05, (head_accuracy, majority)
