"""Class separation by hand, t-SNE shape/determinism/bad perplexity, representations and the projection cache."""

from __future__ import annotations

import dataclasses

import math

import numpy as np
import pytest
import torch

from core.metrics.separation import mean_inter_class_distance, mean_intra_class_distance, separation
from core.representations import cache_dir, project_model, sentence_representations, tsne_projection
from core.viz.representations import projection_figure, separation_caption, truncate
from tests.toy import toy_dataset

# A=(0,0) and B=(3,4) are class 0, C=(0,8) and D=(6,8) class 1.
# Same-class pairs: AB=5, CD=6. Different-class pairs: AC=8, AD=10, BC=5, BD=5.
POINTS = np.array([[0, 0], [3, 4], [0, 8], [6, 8]], dtype=float)
LABELS = [0, 0, 1, 1]


def test_intra_and_inter_class_distance_by_hand():
    assert mean_intra_class_distance(POINTS, LABELS) == pytest.approx((5 + 6) / 2)
    assert mean_inter_class_distance(POINTS, LABELS) == pytest.approx((8 + 10 + 5 + 5) / 4)


def test_silhouette_by_hand():
    # s = (b - a) / max(a, b): A: a=5, b=(8+10)/2=9; B: a=5, b=(5+5)/2=5; C: a=6, b=(8+5)/2=6.5; D: a=6, b=(10+5)/2=7.5
    expected = ((9 - 5) / 9 + 0 + (6.5 - 6) / 6.5 + (7.5 - 6) / 7.5) / 4
    result = separation(POINTS, LABELS)
    assert result.silhouette == pytest.approx(expected)
    assert result.intra == pytest.approx(5.5) and result.inter == pytest.approx(7.0)
    assert result.ratio == pytest.approx(7.0 / 5.5)
    assert (result.n, result.n_classes) == (4, 2)


def test_separation_edge_cases_and_bad_input():
    one_class = separation(POINTS, [0, 0, 0, 0])
    assert math.isnan(one_class.inter) and math.isnan(one_class.silhouette) and one_class.intra > 0
    singletons = separation(POINTS[:3], ["a", "b", "c"])  # string labels; every pair differs
    assert math.isnan(singletons.intra) and math.isnan(singletons.silhouette)
    assert singletons.inter == pytest.approx((5 + 8 + 5) / 3)
    with pytest.raises(ValueError):
        separation(POINTS, [0, 1])
    with pytest.raises(ValueError):
        separation(POINTS[:1], [0])
    with pytest.raises(ValueError):
        separation(np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1])


def test_tsne_shape_determinism_and_bad_perplexity():
    reps = np.random.default_rng(0).normal(size=(30, 8))
    coords = tsne_projection(reps, seed=3, perplexity=5)
    assert coords.shape == (30, 2) and np.isfinite(coords).all()
    np.testing.assert_allclose(coords, tsne_projection(reps, seed=3, perplexity=5))
    for perplexity in (30, 31, 0, -1):
        with pytest.raises(ValueError, match="perplexity"):
            tsne_projection(reps, seed=0, perplexity=perplexity)
    with pytest.raises(ValueError):
        tsne_projection(reps[:2], perplexity=1)


@pytest.fixture(scope="module")
def toy_models(tmp_path_factory):
    """A base and a VMASK CNN trained 1 epoch on the toy data, saved and reloaded (so they have a weights sha256)."""
    from core.models import load_model
    from core.training import TrainSettings, train

    out = tmp_path_factory.mktemp("models")
    data = toy_dataset(n_train=200, n_eval=60)
    models = {}
    for method in ("base", "vmask"):
        result = train(TrainSettings(architecture="cnn", method=method, epochs=1, name=f"toy-{method}", device="cpu"),
                       data=data, output_dir=out, progress=False)
        models[method] = load_model(result.path, device="cpu")
    return models, data


@pytest.mark.parametrize("method", ["base", "vmask"])
def test_representations_are_what_the_head_sees(toy_models, method):
    models, data = toy_models
    model = models[method]
    texts = list(data.test.texts[:7])
    reps = sentence_representations(model, texts, batch_size=3)
    assert reps.shape == (7, 300) and reps.dtype == np.float32
    with torch.no_grad():
        logits = model.model.head.eval()(torch.from_numpy(reps))
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), model.predict_proba(texts), atol=1e-5)


def test_projection_is_cached_per_model_sample_seed_and_perplexity(masklens_home, toy_models):
    models, data = toy_models
    first = project_model(models["base"], n=40, seed=1, perplexity=5, data=data)
    assert not first.cached and len(first.coords) == 40 and first.dim == 300
    assert first.separation["n"] == 40 and -1 <= first.separation["silhouette"] <= 1
    files = list(cache_dir().rglob("*.json"))
    assert len(files) == 1 and str(masklens_home) in str(files[0])
    again = project_model(models["base"], n=40, seed=1, perplexity=5, data=data)
    assert again.cached and again == first
    assert not project_model(models["base"], n=40, seed=1, perplexity=6, data=data).cached
    assert not project_model(models["base"], n=40, seed=2, perplexity=5, data=data).cached
    assert not project_model(models["vmask"], n=40, seed=1, perplexity=5, data=data).cached
    assert len(list(cache_dir().rglob("*.json"))) == 4
    files[0].write_text("{broken")  # an unreadable cache file is recomputed, not fatal
    assert project_model(models["base"], n=40, seed=1, perplexity=5, data=data) == first
    table = first.table()
    assert list(table.columns) == ["model", "id", "text", "label", "x", "y"] and len(table) == 40


def test_projection_bad_arguments(masklens_home, toy_models):
    models, data = toy_models
    with pytest.raises(ValueError, match="perplexity"):
        project_model(models["base"], n=10, perplexity=10, data=data)
    for n in (0, 1001, 2.5):
        with pytest.raises(ValueError, match="number of examples"):
            project_model(models["base"], n=n, data=data)
    unsaved = dataclasses.replace(models["base"], path=None)  # no checkpoint, so no stored test split
    with pytest.raises(ValueError, match="not available"):
        project_model(unsaved, n=20, perplexity=5)  # "toy" is not a bundled dataset
    # a checkpoint trained on user data holds its own test split, so it projects without the data
    assert project_model(models["base"], n=20, perplexity=5).ids == project_model(models["base"], n=20, perplexity=5,
                                                                                    data=data).ids


def test_projection_figure_and_caption():
    texts = ["good film", "bad film " * 40, "great <b>", "awful"]
    figure = projection_figure(POINTS, LABELS, ["negative", "positive", "neutral"], texts, title="m",
                               subtitle="numbers")
    assert [trace.name for trace in figure.data] == ["negative", "positive"]
    assert figure.data[0].text[0] == "good film" and figure.data[1].text[0] == "great &lt;b&gt;"
    assert figure.data[0].text[1].replace("<br>", " ") == truncate(texts[1])
    assert len(truncate(texts[1])) <= 200 and truncate(texts[1]).endswith("…")
    assert "numbers" in figure.layout.title.text
    with pytest.raises(ValueError):
        projection_figure(POINTS, LABELS[:3], ["a", "b"], texts)
    caption = separation_caption(separation(POINTS, LABELS).to_dict())
    assert "5.500" in caption and "7.000" in caption and "silhouette 0.180" in caption
    assert "n/a" in separation_caption(separation(POINTS, [0, 0, 0, 0]).to_dict())


@pytest.mark.parametrize("mask_config, pooling", [({"kind": "evarm", "hidden_dim": 16, "tau": 0.5}, "mean"),
                                                  ({"kind": "none"}, "attention")])
def test_representations_of_wordpiece_models(mask_config, pooling):
    """E-VarM overrides its forward pass and attention models pool differently: still the head's input."""
    from core.models import bundle
    from core.models.factory import build_classifier

    tiny_bert = {"encoder": {"bert_config": {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
                                             "num_attention_heads": 2, "intermediate_size": 64}, "seed": 0},
                 "max_len": 32, "dropout": 0.2, "pooling": pooling}
    torch.manual_seed(0)
    net = build_classifier("minilm", tiny_bert, mask_config, num_classes=2)
    model = bundle(net, {"architecture": "minilm", "model_config": tiny_bert, "label_names": ["neg", "pos"],
                         "mask_config": mask_config}, name="tiny")
    texts = ["a great movie", "the plot was awful", "boring acting , superb score"]
    reps = sentence_representations(model, texts, batch_size=2)
    assert reps.shape == (3, 32)
    with torch.no_grad():
        probs = torch.softmax(model.model.head(torch.from_numpy(reps)), -1).numpy()
    np.testing.assert_allclose(probs, model.predict_proba(texts), atol=1e-5)


def test_tsne_in_a_child_gives_the_same_map_and_ticks():
    reps = np.random.default_rng(0).normal(size=(200, 300)).astype(np.float32)  # 240 KB: more than a pipe holds
    ticks = []
    in_child = tsne_projection(reps, seed=1, perplexity=10.0, tick=ticks.append)
    assert np.array_equal(in_child, tsne_projection(reps, seed=1, perplexity=10.0))
    assert ticks == sorted(ticks) and all(t >= 0 for t in ticks)


def test_a_raising_tick_kills_the_tsne_child_at_once(monkeypatch):
    import subprocess
    import time

    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", recording_popen)

    def cancel(seconds):
        raise KeyboardInterrupt("the user left the page")

    reps = np.random.default_rng(0).normal(size=(900, 50)).astype(np.float32)  # several seconds of t-SNE
    begin = time.perf_counter()
    with pytest.raises(KeyboardInterrupt, match="left the page"):
        tsne_projection(reps, seed=0, perplexity=30.0, tick=cancel)
    assert time.perf_counter() - begin < 2.0 and len(started) == 1
    assert started[0].poll() is not None, "the t-SNE child must be dead, not burning CPU"


def test_projection_reports_progress_in_order(masklens_home, toy_models):
    seen = []
    models, data = toy_models
    project_model(models["vmask"], n=40, seed=0, perplexity=5.0, data=data, use_cache=False,
                  progress=lambda fraction, message: seen.append((fraction, message)))
    fractions = [fraction for fraction, _ in seen]
    assert seen and fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert seen[0][1].startswith("Sentence vectors: ") and "40/40" in seen[0][1]


def test_two_threads_representing_with_one_shared_model_get_their_own_vectors():
    """A page's model cache shares one model between sessions: each thread's hook must see its own passes."""
    import threading

    from core.models import load_model
    from core.representations import sentence_representations

    model = load_model("cnn-base-movie-snippets", device="cpu")
    texts = [f"a {'good ' * (i % 7)}film number {i}" for i in range(60)]
    expected = sentence_representations(model, texts, batch_size=1)
    results, errors = {}, []
    start = threading.Barrier(2)

    def run(name):
        try:
            start.wait()
            results[name] = sentence_representations(model, texts, batch_size=1)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert all(np.array_equal(results[n], expected) for n in ("a", "b"))
