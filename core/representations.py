"""Sentence representations, their t-SNE projection and class separation, with an on-disk cache.

What the Representations page shows, in plain Python::

    from core.models import load_model
    from core.representations import project_model

    projection = project_model(load_model("cnn-vmask-movie-snippets"), n=500, seed=0, perplexity=30)
    projection.coords          # [N, 2] t-SNE coordinates
    projection.separation      # intra/inter-class distance and silhouette in the original space

The representation is the model's sentence vector (:meth:`represent` of the
classifier) of its *masked* embeddings in eval mode, i.e. with the mask's
expectation E[q(R|x)] (VMASK), IBA's mean bottleneck or L2X's hard top-k: the
vector the classification head sees (see :func:`sentence_representations`). Projections are cached under
``$MASKLENS_HOME/representations`` keyed by (the checkpoint's weights sha256,
the sampled example ids, seed, perplexity), so reopening a plot is instant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from core import paths
from core.fileio import atomic_write_json
from core.metrics.separation import Separation, separation

CACHE_VERSION = 1
MAX_EXAMPLES = 1000


def cache_dir() -> Path:
    """Where projections are cached: ``$MASKLENS_HOME/representations``."""
    return paths.user_home() / "representations"


@torch.no_grad()
def sentence_representations(model, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """The classifier's sentence vectors of ``texts``: [N, H] float32.

    The vector is what the classification head receives in an ordinary eval-mode
    forward pass: the model's :meth:`represent` of its masked embeddings, with
    the mask's expectation (VMASK), IBA's mean bottleneck, L2X's hard top-k or
    E-VarM's expected gates; for attention models (LSTM/MiniLM-ATT, VAT) the
    attention sum R. It is read with a forward pre-hook on ``head``, so models
    that override their forward pass (E-VarM) are covered too. H is 300 for the
    CNN, 150 for the LSTM, 384 for MiniLM.

    Args:
        model: a :class:`core.models.factory.LoadedModel`.
        texts: raw texts.
        batch_size: texts per forward pass.

    Raises:
        ValueError: no texts.
    """
    net = model.model
    net.eval()
    chunks: list[np.ndarray] = []

    def keep_input(module, inputs):
        chunks.append(inputs[0].detach().float().cpu().numpy())

    handle = net.head.register_forward_pre_hook(keep_input)
    try:
        for start in range(0, len(texts), batch_size):
            before = len(chunks)
            net.classify(model.encode(list(texts[start: start + batch_size])))
            if len(chunks) != before + 1:
                raise RuntimeError(f"the head of {model.name or 'the model'} ran {len(chunks) - before} times "
                                   "in one forward pass; cannot tell which input is the sentence vector")
    finally:
        handle.remove()
    if not chunks:
        raise ValueError("no texts to represent")
    return np.concatenate(chunks)


def tsne_projection(representations: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of representations [N, H] -> [N, 2] float.

    Deterministic for a given ``seed`` on the same machine and library versions.

    Raises:
        ValueError: fewer than 3 points, or ``perplexity`` not in (0, N) (t-SNE needs perplexity < N).
    """
    from sklearn.manifold import TSNE

    reps = np.asarray(representations, dtype=np.float32)
    if reps.ndim != 2 or len(reps) < 3:
        raise ValueError(f"t-SNE needs at least 3 representations as an [N, H] array, got shape {reps.shape}")
    if not 0 < perplexity < len(reps):
        raise ValueError(f"perplexity must be between 0 and the number of examples ({len(reps)}), got {perplexity}; "
                         "use a smaller perplexity or more examples")
    tsne = TSNE(n_components=2, perplexity=float(perplexity), init="pca", random_state=int(seed))
    return tsne.fit_transform(reps).astype(np.float64)


@dataclass
class Projection:
    """A model's sampled test examples, their 2-D t-SNE coordinates and class separation.

    Attributes:
        model: model name.
        dataset: dataset the examples come from.
        ids, texts: the sampled test examples.
        labels: gold label indices into ``label_names``.
        coords: [N, 2] t-SNE coordinates (list of [x, y]).
        separation: :class:`Separation` in the original representation space, as a dict.
        seed, perplexity: t-SNE settings (the seed also drew the sample).
        dim: H, the representation size.
        cached: True when this came from the disk cache.
    """

    model: str
    dataset: str
    label_names: list[str]
    ids: list[str]
    texts: list[str]
    labels: list[int]
    coords: list[list[float]]
    separation: dict
    seed: int
    perplexity: float
    dim: int
    cached: bool = field(default=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (without ``cached``)."""
        record = asdict(self)
        record.pop("cached")
        return record

    @property
    def scores(self) -> Separation:
        """The separation numbers as a :class:`Separation`."""
        return Separation(**self.separation)

    def table(self) -> pd.DataFrame:
        """One row per example: id, text, label, x, y (the page's CSV export)."""
        coords = np.asarray(self.coords)
        return pd.DataFrame({"model": self.model, "id": self.ids, "text": self.texts,
                             "label": [self.label_names[i] for i in self.labels],
                             "x": coords[:, 0], "y": coords[:, 1]})


def sample_test_examples(data, n: int, seed: int) -> tuple[list[str], list[str], list[int]]:
    """(ids, texts, labels) of ``min(n, test size)`` test examples drawn with ``seed`` (as ``core.evaluate`` does).

    Raises:
        ValueError: ``n`` not in [1, 1000], or an empty test split.
    """
    from core.evaluation.runner import sample_ids

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_EXAMPLES:
        raise ValueError(f"the number of examples must be an integer from 1 to {MAX_EXAMPLES}, got {n!r}")
    test = data.test
    if len(test) == 0:
        raise ValueError(f"dataset {data.name!r} has no test examples")
    ids = sample_ids(list(test.ids), n, seed)
    index = {example_id: i for i, example_id in enumerate(test.ids)}
    return ids, [test.texts[index[i]] for i in ids], [int(test.labels[index[i]]) for i in ids]


def _cache_path(weights_sha256: str, ids: Sequence[str], seed: int, perplexity: float) -> Path:
    key = json.dumps([CACHE_VERSION, weights_sha256, list(ids), int(seed), float(perplexity)])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return cache_dir() / weights_sha256[:16] / f"{digest}.json"


def _read_cache(path: Path) -> Projection | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return Projection(**record, cached=True)
    except (OSError, ValueError, TypeError):
        return None  # missing or unreadable: recompute and overwrite


def project_model(model, n: int = 500, seed: int = 0, perplexity: float = 30.0, data=None,
                  use_cache: bool = True) -> Projection:
    """t-SNE projection and class separation of ``n`` seeded test examples of the model's dataset.

    Args:
        model: a :class:`core.models.factory.LoadedModel`.
        n: examples (1..1000; all of the test split when it is smaller).
        seed: draws the sample and seeds t-SNE.
        perplexity: t-SNE perplexity; must be below the number of examples.
        data: the model's :class:`DatasetSplits` (default: the bundled dataset named in its config).
        use_cache: read and write ``$MASKLENS_HOME/representations``; only models loaded from a
            checkpoint (which records ``weights_sha256``) are cached.

    Raises:
        ValueError: bad ``n`` or perplexity, a dataset that is not bundled (pass ``data``), or labels
            that do not match the model.
    """
    from core.data.model_data import model_dataset

    dataset = model.config.get("dataset", "")
    try:
        data = model_dataset(model.config, getattr(model, "path", None), data)
    except ValueError as err:
        raise ValueError(f"the test data of {model.name or 'the model'}'s dataset {dataset!r} is not available "
                         f"({err})") from err
    if list(data.label_names) != list(model.label_names):
        raise ValueError(f"dataset {data.name!r} has labels {list(data.label_names)}, the model "
                         f"{list(model.label_names)}")
    ids, texts, labels = sample_test_examples(data, n, seed)
    if not 0 < perplexity < len(ids):
        raise ValueError(f"perplexity must be between 0 and the number of examples ({len(ids)}), got {perplexity}; "
                         "use a smaller perplexity or more examples")
    sha = model.config.get("weights_sha256")
    path = _cache_path(sha, ids, seed, perplexity) if (use_cache and sha) else None
    if path is not None and (hit := _read_cache(path)) is not None:
        return hit
    reps = sentence_representations(model, texts)
    projection = Projection(
        model=model.name, dataset=data.name, label_names=list(data.label_names), ids=list(ids), texts=list(texts),
        labels=labels, coords=tsne_projection(reps, seed, perplexity).tolist(),
        separation=separation(reps, labels).to_dict(), seed=int(seed), perplexity=float(perplexity),
        dim=int(reps.shape[1]))
    if path is not None:
        atomic_write_json(path, projection.to_dict())  # NaN (e.g. a one-class sample) round-trips in Python's json
    return projection

