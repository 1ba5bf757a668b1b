"""Test accuracy of the shipped MiniLM E-VarM models with the gate's soft and hard inference.

Usage::

    python scripts/measure_evarm_hard.py [--device cpu] [--threads 1] [--batch-size 64]

For each model (``minilm-evarm-movie-snippets``, ``minilm-evarm_mask-movie-snippets``) and each
gate inference (:func:`core.models.evarm.set_gate_inference`): ``soft`` multiplies each word
piece's embedding by alpha = E[r | x] (how the models were evaluated when trained, so its accuracy
is the stored ``test_accuracy``), ``hard`` by eq. 3's 0/1 r = 1[alpha > 0.5]. Prints the accuracy
on the full movie-snippets test split, the share of word pieces the hard gate keeps (pooled over
all test pieces) and the mean alpha. Nothing is retrained or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.datasets import load_dataset  # noqa: E402
from core.models import load_model  # noqa: E402
from core.models.evarm import set_gate_inference  # noqa: E402

MODELS = ("minilm-evarm-movie-snippets", "minilm-evarm_mask-movie-snippets")


@torch.no_grad()
def measure(model, texts: list[str], labels: list[int], batch_size: int) -> dict[str, float]:
    """{"soft", "hard"}: test accuracy in [0, 1]; "kept": share of word pieces with alpha > 0.5; "alpha": mean alpha."""
    net = model.model.eval()
    correct = {"soft": 0, "hard": 0}
    kept = pieces = 0
    alpha_sum = 0.0
    for start in range(0, len(texts), batch_size):
        batch = model.encode(texts[start: start + batch_size]).to(model.device)
        gold = torch.tensor(labels[start: start + batch_size], device=model.device)
        for mode in correct:
            set_gate_inference(model, mode)
            correct[mode] += int((net.classify(batch).logits.argmax(-1) == gold).sum())
        alpha = net.token_importance(batch.input_ids, batch.attention_mask, batch.token_mask)[batch.token_mask]
        kept += int((alpha > 0.5).sum())
        pieces += alpha.numel()
        alpha_sum += float(alpha.sum())
    set_gate_inference(model, "soft")
    n = max(len(texts), 1)
    return {"soft": correct["soft"] / n, "hard": correct["hard"] / n, "kept": kept / max(pieces, 1),
            "alpha": alpha_sum / max(pieces, 1), "pieces": pieces}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    test = load_dataset("movie-snippets").test
    texts, labels = list(test.texts), list(test.labels)
    print(f"movie-snippets test: {len(texts)} sentences")
    print("| model | stored test acc | soft acc | hard acc | hard: kept pieces | mean alpha |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        model = load_model(name, device=args.device)
        result = measure(model, texts, labels, args.batch_size)
        stored = model.config.get("metrics", {}).get("test_accuracy", float("nan"))
        print(f"| {name} | {stored:.4f} | {result['soft']:.4f} | {result['hard']:.4f} | "
              f"{result['kept']:.4f} (of {result['pieces']}) | {result['alpha']:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
