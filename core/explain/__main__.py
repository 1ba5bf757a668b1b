"""``python -m core.explain``: explain one prediction with several methods.

Example::

    python -m core.explain --model cnn-vmask-movie-snippets --text "a gripping , well acted film" \\
        --methods vmask,zero,marginal --format table
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from core.cli_common import check_params, parse_params, run_cli
from core.data.text import split_words
from core.explain.base import ExplainError
from core.models import load_model


def resolve_target(target: str | None, label_names: Sequence[str]) -> int | None:
    """A class given by index or by name -> index (None stays None)."""
    if target is None:
        return None
    if target in label_names:
        return list(label_names).index(target)
    if target.lstrip("-").isdigit():
        return int(target)
    raise ExplainError(f"unknown class {target!r}; classes are {', '.join(label_names)} (or their index)")


def parse_methods(value: str | None, default: Sequence[str], names: Sequence[str]) -> list[str]:
    """The ``--methods`` list (``default`` when not given); :class:`ExplainError` when it names no method."""
    methods = [m.strip() for m in (",".join(default) if value is None else value).split(",") if m.strip()]
    if not methods:
        raise ExplainError(f"no method given; choose from {', '.join(names)} (--methods {value!r} names none)")
    return methods


def truncation_note(explanation, split=split_words) -> str | None:
    """A line saying which words the model did not read, or None when the text was not truncated.

    The explained words are the ones the model read (``Explanation.words``); the
    rest of :func:`split_words` of the text was cut. For a pair both texts are
    checked by counting words, since a pair explanation's ``truncated`` flag is
    not reliable (it is computed from the already cut words). ``split`` forms the words as the
    model's tokenizer does (``model.tokenizer.split``; :func:`split_words` by default).
    """
    if hasattr(explanation, "text_b"):  # a PairExplanation: words = A's kept words + B's kept words
        sides = [("text A", explanation.text, explanation.n_words_a),
                 ("text B", explanation.text_b, len(explanation.words) - explanation.n_words_a)]
    else:
        sides = [("the text", explanation.text, len(explanation.words))]
    parts = []
    for what, text, n_kept in sides:
        words = split(text)
        if n_kept < len(words):
            parts.append(f"{what} was truncated to {n_kept} of its {len(words)} words (the model's limit); "
                         f"words from word {n_kept + 1} ({words[n_kept]!r}) on were not read")
    if not parts and not explanation.truncated:
        return None
    return "note: " + "; ".join(parts or ["the text was truncated to the model's limit; later words were not read"])


def record(explanation) -> dict:
    """The CLI's JSON record of an explanation (the documented fields first)."""
    data = explanation.to_dict()
    head = {"method": data.pop("method"), "words": data.pop("words"), "scores": data.pop("scores"),
            "target": data.pop("target"), "probs": data.pop("probs"), "seconds": round(data.pop("seconds"), 4)}
    return {**head, **data}


def parse_budget(value: str) -> int | str:
    """``--budget``: ``auto``, ``exact`` or an integer string (checked by the explainer)."""
    return int(value) if value.strip().lstrip("-").isdigit() else value.strip()


def table(explanations, label_names: Sequence[str], split=split_words) -> str:
    """Plain-text table: one block per method, one line per word with its score; a note when the text was cut."""
    blocks = []
    for e in explanations:
        probs = ", ".join(f"{name}={p:.3f}" for name, p in zip(label_names, e.probs))
        header = f"{e.method}  (explains {e.target_name}; {e.seconds:.3f} s; unit: {e.params.get('unit', '?')}"
        if e.params.get("mode") == "budgeted":
            header += f"; budgeted: at most {e.params['budget']} classifier passes per word, ± standard error"
        header += ")"
        errors = e.details.get("score_se") if e.params.get("mode") == "budgeted" else None
        lines = [header, "-" * len(header)] + [f"  {w:<20} {s:+.4f}" + (f" ± {errors[i]:.4f}" if errors else "")
                                               for i, (w, s) in enumerate(zip(e.words, e.scores))]
        lines.append(f"  probs: {probs}")
        blocks.append("\n".join(lines))
    note = truncation_note(explanations[0], split) if explanations else None  # every method read the same words
    return "\n\n".join(blocks + ([note] if note else []))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, explain, print; returns the exit status."""
    from core.explain.registry import DEFAULT_METHODS, DEFAULT_PAIR_METHODS, explain, explainers_for

    parser = argparse.ArgumentParser(prog="python -m core.explain", description="Explain a prediction.")
    parser.add_argument("--model", required=True, help="registry name, checkpoint directory, or hf:<folder or cached "
                        "name> for any Hugging Face sequence classifier (offline)")
    parser.add_argument("--text", required=True, help="the text (the first text of a pair)")
    parser.add_argument("--text-b", help="the second text, for a sentence-pair model")
    parser.add_argument("--methods", help=f"comma-separated: {', '.join(explainers_for('text'))} (default "
                        f"{','.join(DEFAULT_METHODS)}); for a pair: {', '.join(explainers_for('pair'))} (default "
                        f"{','.join(DEFAULT_PAIR_METHODS)})")
    parser.add_argument("--target", help="class to explain (name or index; default: the predicted class)")
    parser.add_argument("--likelihood", default="mlm", help="for marginal: mlm, uniform, unigram, or an MLM path")
    parser.add_argument("--sigma", type=float, default=1e-5, help="marginal: likelihood threshold")
    parser.add_argument("--budget", default="auto", help="marginal: auto (exact on word models, budgeted on "
                        "transformers), exact, or the most classifier passes per word")
    parser.add_argument("--n-samples", type=int, help="lime: samples (default 500; at least 10 and more than the "
                        "text has words); shapley: permutations (default 25; at least 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", action="append", metavar="EXPLAINER.NAME=VALUE",
                        help="any explainer parameter, e.g. lime.n_samples=200 or marginal.top_n=50 (repeatable)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    args = parser.parse_args(argv)
    args.params = parse_params(args.param)
    model = load_model(args.model, device=args.device)
    if model.config.get("pair") or args.text_b is not None:
        return explain_pair_cli(model, args)
    methods = parse_methods(args.methods, DEFAULT_METHODS, explainers_for("text"))
    params = {"seed": args.seed, "sigma": args.sigma, "budget": parse_budget(args.budget)}
    if args.n_samples is not None:  # 0 or a negative count is refused by the explainers, not dropped
        params["n_samples"] = args.n_samples
    check_params(args.params, methods)
    params.update(args.params)
    likelihood = None
    text_explainers = explainers_for("text")
    if any(text_explainers[m].needs_likelihood for m in methods if m in text_explainers):
        from core.lm.mlm import load_likelihood

        likelihood = load_likelihood(args.likelihood, dataset=model.config.get("dataset"))
    run = explain(model, args.text, methods=methods, target=resolve_target(args.target, model.label_names),
                  likelihood=likelihood, **params)
    if args.format == "json":
        print(json.dumps([record(e) for e in run.explanations], indent=2))
    else:
        print(table(run.explanations, model.label_names, model.tokenizer.split))
    for method, reason in run.skipped.items():
        print(f"skipped {method}: {reason}", file=sys.stderr)
    return 0


def explain_pair_cli(model, args) -> int:
    """The pair branch of :func:`main`: both texts, pair methods, the same output formats."""
    from core.explain.registry import DEFAULT_PAIR_METHODS, explain_pair, explainers_for

    if not model.config.get("pair"):
        raise ExplainError(f"--text-b was given but {model.name} reads one text; pick a sentence-pair model "
                           "(pair: true in `python -m core.models list`)")
    if args.text_b is None:
        raise ExplainError(f"{model.name} is a sentence-pair model: give the second text with --text-b")
    methods = parse_methods(args.methods, DEFAULT_PAIR_METHODS, explainers_for("pair"))
    params: dict = {"seed": args.seed}
    if args.n_samples is not None:  # LIME samples / Shapley permutations only (GMASK's n_samples is per step)
        params.update({m: {"n_samples": args.n_samples} for m in ("lime", "shapley") if m in methods})
    check_params(args.params, methods)
    for method, values in args.params.items():
        params[method] = {**params.get(method, {}), **values}
    run = explain_pair(model, args.text, args.text_b, methods=methods,
                       target=resolve_target(args.target, model.label_names), **params)
    if args.format == "json":
        print(json.dumps([record(e) for e in run.explanations], indent=2))
        return 0
    for e in run.explanations:
        e.words = [f"{'A' if i < e.n_words_a else 'B'}:{w}" for i, w in enumerate(e.words)]
    print(table(run.explanations, model.label_names))
    for e in run.explanations:
        for group in e.groups:
            members = ", ".join(f"{m['side'].upper()}:{m['word']} {m['prob']:.2f}" for m in group["words"]
                                if m["prob"] >= 0.3)
            print(f"{e.method} group {group['group']}: importance {group['importance']:.3f}: {members}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
