"""Run the papers' faithfulness comparisons on the shipped movie-snippets models and print the README table.

Usage::

    python scripts/faithfulness_table.py [--n 500] [--seed 0] [--device auto]

Every number comes from :func:`core.evaluation.evaluate` (so from its store: a second run is
instant). The comparisons, each with the direction the paper reports:

1. VMASK Table 4: AOPC of LIME explanations, CNN-VMASK above CNN-base (K = 5 as the paper, and 10);
2. VMASK Figure 1: post-hoc accuracy of the global importance, CNN-VMASK above CNN-IBA;
3. input marginalization Table 2: AUC_rep of marginalization below zero erasure's (CNN-VMASK);
4. VAT Table 3 and its post-hoc table: attention explanations of LSTM-VAT above LSTM-ATT's
   (AOPC with K = 5, post-hoc accuracy at k = 5);
5. E-VarM Table 3: AOPC of LIME explanations (K = 1, 5, 9), MiniLM E-VarM above MiniLM-VMASK
   (``--n-minilm`` sentences: LIME on MiniLM takes seconds a sentence on a CPU);
6. the deletion operations side by side (remove, zero, unk, mlm) for AOPC and degradation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation import evaluate  # noqa: E402

VMASK, BASE, IBA = "cnn-vmask-movie-snippets", "cnn-base-movie-snippets", "cnn-iba-movie-snippets"
VAT, ATT = "lstm-vat-movie-snippets", "lstm-att-movie-snippets"
EVARM, MINILM_VMASK = "minilm-evarm-movie-snippets", "minilm-vmask-movie-snippets"


def _one(model: str, explainer: str, metric: str, **kwargs) -> dict:
    record = evaluate(model, explainers=[explainer], metrics=[metric], progress=False, **kwargs)[0]
    if record["skipped"]:
        raise RuntimeError(f"{explainer} does not apply to {model}: {record['skipped']}")
    return record["metrics"][metric] | {"n": record["n"]}


def _aopc_at(result: dict, k: int) -> float:
    """AOPC with K = k from an AOPC result of a larger K: (1/(k+1)) * sum of the first k mean drops."""
    return float(sum(result["per_k"][:k]) / (k + 1))


def _row(claim: str, measured_a: float, measured_b: float, expect_a_above_b: bool, n: int, unit: str) -> str:
    held = (measured_a > measured_b) == expect_a_above_b
    return f"| {claim} | {measured_a:.4f} | {measured_b:.4f} | {n} | {unit} | {'yes' if held else '**no**'} |"


def main() -> int:
    """Print the markdown tables; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--n-minilm", type=int, default=200, help="sentences for the MiniLM (E-VarM) comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    common = {"n": args.n, "seed": args.seed, "device": args.device}

    print("| paper's finding | A | B | n | metric | direction reproduced |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in (5, 10):
        vmask = _one(VMASK, "lime", "aopc", aopc_k=k, **common)
        base = _one(BASE, "lime", "aopc", aopc_k=k, **common)
        print(_row(f"VMASK Table 4: AOPC (LIME, top {k} removed), A = CNN-VMASK above B = CNN-base",
                   vmask["value"], base["value"], True, vmask["n"], f"AOPC@{k}, higher is better"))
    vmask = _one(VMASK, "global", "posthoc", **common)
    iba = _one(IBA, "global", "posthoc", **common)
    ks = sorted(k for k in vmask if isinstance(k, int))
    wins = sum(vmask[k] > iba[k] for k in ks)
    print(_row(f"VMASK Figure 1: post-hoc accuracy of global importance, A = CNN-VMASK above B = CNN-IBA "
               f"(A higher at {wins} of k = 1..{ks[-1]})", float(np.mean([vmask[k] for k in ks])),
               float(np.mean([iba[k] for k in ks])), True, vmask["n"], "mean post-hoc acc. over k"))
    marginal = _one(VMASK, "marginal", "auc_rep", **common)
    zero = _one(VMASK, "zero", "auc_rep", **common)
    print(_row("Marginalization Table 2: AUC_rep, A = marginalization below B = zero erasure (CNN-VMASK)",
               marginal["value"], zero["value"], False, marginal["n"], "AUC_rep, lower is better"))
    vat = _one(VAT, "attention", "aopc", aopc_k=5, **common)
    att = _one(ATT, "attention", "aopc", aopc_k=5, **common)
    print(_row("VAT Table 3: AOPC of attention weights (top 5 removed), A = LSTM-VAT above B = LSTM-ATT",
               vat["value"], att["value"], True, vat["n"], "AOPC@5, higher is better"))
    vat = _one(VAT, "attention", "posthoc", **common)
    att = _one(ATT, "attention", "posthoc", **common)
    print(_row("VAT post-hoc table: post-hoc accuracy of attention top-5 words, A = LSTM-VAT above B = LSTM-ATT",
               vat[5], att[5], True, vat["n"], "post-hoc acc. at k = 5"))
    minilm = {**common, "n": args.n_minilm}
    evarm = _one(EVARM, "lime", "aopc", aopc_k=9, **minilm)
    vmask_minilm = _one(MINILM_VMASK, "lime", "aopc", aopc_k=9, **minilm)
    for k in (1, 5, 9):
        print(_row(f"E-VarM Table 3: AOPC (LIME, top {k} removed), A = MiniLM E-VarM above B = MiniLM-VMASK",
                   _aopc_at(evarm, k), _aopc_at(vmask_minilm, k), True, evarm["n"], f"AOPC@{k}, higher is better"))

    print("\n| post-hoc accuracy, global importance | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("| --- " * (len(ks) + 1) + "|")
    for name, result in (("CNN-VMASK", vmask), ("CNN-IBA", iba)):
        print(f"| {name} | " + " | ".join(f"{result[k]:.3f}" for k in ks) + " |")

    print("\n| model | explainer | deletion | AOPC@10 | degradation |")
    print("| --- | --- | --- | --- | --- |")
    for model in (VMASK, BASE):
        for explainer in ("lime", "zero"):
            for operation in ("remove", "zero", "unk", "mlm"):
                aopc = _one(model, explainer, "aopc", operation=operation, **common)
                degradation = _one(model, explainer, "degradation", operation=operation, **common)
                print(f"| {model} | {explainer} | {operation} | {aopc['value']:.4f} | {degradation['score']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
