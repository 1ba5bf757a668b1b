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

from core.explain.registry import EXPLAINERS, explainers_for, get_explainer
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
    source = (REPO / "pages" / page).read_text()
    line = re.search(r"^METHODS = (.*)$", source, re.M).group(1)
    assert "cls.label" in line, f"pages/{page} keeps its own method labels: {line}"
    kind = re.search(r'explainers_for\("(text|pair)"\)', line).group(1)
    return set(explainers_for(kind))


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
    assert explanation.signed == type(first).signed == explanation.params.get("signed", type(first).signed)
    assert type(first).label not in ("", "abstract"), f"{name} declares no label"
    assert name in page_methods(page), f"{name} is not offered on pages/{page}"


def _kwargs(name: str, seed: int) -> dict:
    from core.explain.registry import parameter_names

    params = dict(FAST.get(name, {}))
    accepted = parameter_names(name)
    if "seed" in accepted:
        params["seed"] = seed
    if "likelihood" in accepted:
        from core.lm.priors import UniformLikelihood

        params["likelihood"] = UniformLikelihood(["good", "bad", "film", "plot", "dull", "fine"])
    return params


@pytest.mark.parametrize("name", sorted(explainers_for("text")))
def test_every_text_explainer_keeps_the_contract(name):
    loaded = model(MODEL_OF.get(name, "cnn-vmask-movie-snippets"))
    n_words = len(TEXT.split())
    check_contract(lambda seed: get_explainer(name, loaded, **_kwargs(name, seed)),
                   lambda explainer, target: explainer.explain(TEXT, target=target), n_words, "1_Explain.py", name)


@pytest.mark.parametrize("name", sorted(explainers_for("pair")))
def test_every_pair_explainer_keeps_the_contract(name):
    loaded = model("dattn-trec6-answer-type-pairs")
    n_words = len(PAIR[0].split()) + len(PAIR[1].split())
    check_contract(lambda seed: get_explainer(name, loaded, **_kwargs(name, seed)),
                   lambda explainer, target: explainer.explain(*PAIR, target=target), n_words, "6_Sentence_pairs.py",
                   name)


def test_every_registered_explainer_supports_a_kind_and_declares_its_parameters():
    covered = set(explainers_for("text")) | set(explainers_for("pair"))
    assert covered == set(EXPLAINERS), f"explainers no contract test reaches: {set(EXPLAINERS) - covered}"
    for name, cls in EXPLAINERS.items():
        assert cls.name == name and cls.supports and cls.supports <= {"text", "pair"}
        undocumented = [p.name for p in cls.parameters() if not p.help]
        assert not undocumented, f"{name} declares no help for {undocumented}"
        assert isinstance(cls.signed, bool) and isinstance(cls.needs_likelihood, bool)


def test_a_subclass_with_a_name_registers_itself_and_reaches_explain():
    from core.explain.base import Explainer
    from core.explain.registry import explain, explain_pair

    class CountLetters(Explainer):
        """Scores each word by its number of letters (a test-only explainer)."""

        name = "letters-test"
        label = "letters (test)"
        supports = frozenset({"text", "pair"})
        param_help = {"scale": "factor on the counts"}

        def __init__(self, model, scale: float = 1.0, batch_size=None, seed: int = 0):
            super().__init__(model, batch_size=batch_size, seed=seed, scale=scale, unit="letters")

        def attribute(self, features, target, probs):
            return [self.params["scale"] * len(w) for w in features.words], {}

    try:
        assert "letters-test" in explainers_for("text") and "letters-test" in explainers_for("pair")
        run = explain(model("cnn-base-movie-snippets"), "a fine film", methods=["letters-test"], scale=2.0)
        assert run.get("letters-test").scores == [2.0, 8.0, 8.0]
        pair = explain_pair(model("dattn-trec6-answer-type-pairs"), *PAIR, methods=["letters-test"])
        assert pair.get("letters-test").scores == [len(w) for w in " ".join(PAIR).split()]
    finally:
        EXPLAINERS.pop("letters-test", None)
