"""The contract every registered explainer keeps, single texts and pairs alike (it catches drift between them).

For each explainer: one score per word; the same seed gives the same scores; the caller's random
state (torch CPU, CUDA when present, numpy) is untouched; an asked-for class is the explained one;
the record is JSON-ready; and the explainer is offered on its page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from core.explain.pair_registry import PAIR_EXPLAINERS, get_pair_explainer
from core.explain.registry import EXPLAINERS, get_explainer
from core.models import load_model

REPO = Path(__file__).resolve().parent.parent
TEXT = "a gripping , beautifully acted film that never lets go"
PAIR = ("who wrote hamlet ?", "who painted the mona lisa ?")
# the shipped model each explainer applies to (mask explainers need a mask model, attention an ATT model)
MODEL_OF = {"attention": "lstm-att-movie-snippets", "evarm": "minilm-evarm-movie-snippets"}
FAST = {"lime": {"n_samples": 60}, "shapley": {"n_permutations": 3}, "gmask": {"steps": 5, "n_samples": 8},
        "imask": {"steps": 5, "n_samples": 8}}
_models: dict[str, object] = {}


def model(name: str):
    if name not in _models:
        _models[name] = load_model(name, device="cpu")
    return _models[name]


def random_states():
    state = [torch.get_rng_state(), np.random.get_state()[1].copy()]
    if torch.cuda.is_available():
        state.append(torch.cuda.get_rng_state_all())
    return state


def same_states(a, b) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and (
        len(a) == 2 or all(torch.equal(x, y) for x, y in zip(a[2], b[2])))


def page_methods(page: str) -> set[str]:
    """The method names a page offers: its ``METHODS`` must be built from a registry, not a literal dict."""
    source = (REPO / "views" / page).read_text()
    line = re.search(r"^METHODS = (.*)$", source, re.M).group(1)
    assert "cls.label" in line, f"views/{page} keeps its own method labels: {line}"
    return set(PAIR_EXPLAINERS if "PAIR_EXPLAINERS" in line else EXPLAINERS)


def check_contract(make, explain_call, n_words: int, page: str, name: str) -> None:
    first = make(seed=3)
    torch.manual_seed(123)
    np.random.seed(7)
    before = random_states()
    explanation = explain_call(first, None)
    assert same_states(before, random_states()), f"{name} changed the caller's random state"
    assert len(explanation.scores) == len(explanation.words) == n_words
    assert explanation.scores == explain_call(make(seed=3), None).scores, f"{name} is not reproducible"
    other = 1 - explanation.predicted if len(explanation.probs) == 2 else (explanation.predicted + 1) % len(
        explanation.probs)
    assert explain_call(first, other).target == other
    json.dumps(explanation.to_dict())
    assert type(first).label not in ("", "abstract"), f"{name} declares no label"
    assert name in page_methods(page), f"{name} is not offered on views/{page}"


def _kwargs(name: str, registry, seed: int) -> dict:
    from core.explain.registry import parameter_names

    params = dict(FAST.get(name, {}))
    accepted = parameter_names(name, registry)
    if "seed" in accepted:
        params["seed"] = seed
    if "likelihood" in accepted:
        from core.lm.priors import UniformLikelihood

        params["likelihood"] = UniformLikelihood(["good", "bad", "film", "plot", "dull", "fine"])
    return params


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_every_text_explainer_keeps_the_contract(name):
    loaded = model(MODEL_OF.get(name, "cnn-vmask-movie-snippets"))
    n_words = len(TEXT.split())
    check_contract(lambda seed: get_explainer(name, loaded, **_kwargs(name, EXPLAINERS, seed)),
                   lambda explainer, target: explainer.explain(TEXT, target=target), n_words, "explain.py", name)


@pytest.mark.parametrize("name", sorted(PAIR_EXPLAINERS))
def test_every_pair_explainer_keeps_the_contract(name):
    loaded = model("dattn-trec6-answer-type-pairs")
    n_words = len(PAIR[0].split()) + len(PAIR[1].split())
    check_contract(lambda seed: get_pair_explainer(name, loaded, **_kwargs(name, PAIR_EXPLAINERS, seed)),
                   lambda explainer, target: explainer.explain(*PAIR, target=target), n_words, "sentence_pairs.py",
                   name)
