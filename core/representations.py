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

Long work reports progress and can be cancelled: :func:`sentence_representations` calls
``progress(done, total)`` after every batch, and :func:`tsne_projection` with a ``tick`` runs
t-SNE in a child process (NumPy and scikit-learn only; arrays cross as ``.npy`` bytes, no
pickle), calls ``tick(seconds so far)`` every :data:`TICK_SECONDS` and kills the child when
``tick`` raises, e.g. Streamlit's stop when the user leaves the page or closes the tab. Both run
under :mod:`core.threads`' policy (a BLAS/OpenMP thread per free core).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from core import paths
from core.fileio import atomic_write_json
from core.metrics.separation import Separation, separation
from core.threads import CHILD_ENV_VARS, compute_threads, thread_count

CACHE_VERSION = 1
MAX_EXAMPLES = 1000
TICK_SECONDS = 0.2  # how often a t-SNE child is checked (and may be cancelled)
TSNE_SECONDS_PER_POINT = 0.005  # measured by bench/threads.py: ~2.5 s for 500 points on one busy core
# The t-SNE child: reads a JSON header line and an .npy array on stdin, writes the coordinates as .npy.
_TSNE_CHILD = """
import io, json, sys
import numpy as np
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
header, _, body = sys.stdin.buffer.read().partition(b"\\n")
header = json.loads(header)
reps = np.load(io.BytesIO(body), allow_pickle=False)
with threadpool_limits(limits=header["threads"]):
    coords = TSNE(**header["tsne"]).fit_transform(reps)
np.save(sys.stdout.buffer, coords.astype(np.float64), allow_pickle=False)
"""


def cache_dir() -> Path:
    """Where projections are cached: ``$MASKLENS_HOME/representations``."""
    return paths.user_home() / "representations"


@torch.no_grad()
def sentence_representations(model, texts: Sequence[str], batch_size: int = 256,
                             progress: Callable[[int, int], None] | None = None) -> np.ndarray:
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
        progress: called with (texts done, texts in all) after every batch; what it raises ends the loop.

    Raises:
        ValueError: no texts.
    """
    net = model.model
    net.eval()
    chunks: list[np.ndarray] = []

    caller = threading.get_ident()

    def keep_input(module, inputs):
        # the model may be shared (a page's model cache): another thread's forward pass is not ours
        if threading.get_ident() == caller:
            chunks.append(inputs[0].detach().float().cpu().numpy())

    handle = net.head.register_forward_pre_hook(keep_input)
    try:
        for start in range(0, len(texts), batch_size):
            before = len(chunks)
            net.classify(model.encode(list(texts[start: start + batch_size])))
            if len(chunks) != before + 1:
                raise RuntimeError(f"the head of {model.name or 'the model'} ran {len(chunks) - before} times "
                                   "in one forward pass; cannot tell which input is the sentence vector")
            if progress is not None:
                progress(min(start + batch_size, len(texts)), len(texts))
    finally:
        handle.remove()
    if not chunks:
        raise ValueError("no texts to represent")
    return np.concatenate(chunks)


def tsne_projection(representations: np.ndarray, seed: int = 0, perplexity: float = 30.0,
                    tick: Callable[[float], None] | None = None) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of representations [N, H] -> [N, 2] float.

    Deterministic for a given ``seed`` on the same machine and library versions, with or without
    ``tick``. Runs with :func:`core.threads.compute_threads` (a thread per free core: several
    spinning OpenMP threads on a busy 2-core machine made it 10-20x slower).

    Args:
        representations: [N, H] vectors.
        seed: t-SNE's random state.
        perplexity: in (0, N).
        tick: when given, t-SNE runs in a child process and ``tick(seconds so far)`` is called every
            :data:`TICK_SECONDS`; if it raises, the child is killed at once and the error propagates.

    Raises:
        ValueError: fewer than 3 points, or ``perplexity`` not in (0, N) (t-SNE needs perplexity < N).
        RuntimeError: the child process failed (its error output is in the message).
    """
    reps = np.asarray(representations, dtype=np.float32)
    if reps.ndim != 2 or len(reps) < 3:
        raise ValueError(f"t-SNE needs at least 3 representations as an [N, H] array, got shape {reps.shape}")
    if not 0 < perplexity < len(reps):
        raise ValueError(f"perplexity must be between 0 and the number of examples ({len(reps)}), got {perplexity}; "
                         "use a smaller perplexity or more examples")
    options = {"n_components": 2, "perplexity": float(perplexity), "init": "pca", "random_state": int(seed)}
    if tick is not None:
        return _tsne_in_child(reps, options, tick)
    from sklearn.manifold import TSNE

    with compute_threads():
        return TSNE(**options).fit_transform(reps).astype(np.float64)


def tsne_estimate(n: int) -> float:
    """Rough seconds of a one-thread t-SNE of ``n`` points (for a progress estimate, not a promise)."""
    return max(1.0, TSNE_SECONDS_PER_POINT * n)


def _tsne_in_child(reps: np.ndarray, options: dict, tick: Callable[[float], None]) -> np.ndarray:
    """t-SNE of ``reps`` [N, H] in a killable child process; ``tick(seconds)`` between checks."""
    import io
    import tempfile
    import threading

    threads = thread_count()
    payload = io.BytesIO()
    payload.write((json.dumps({"tsne": options, "threads": threads}) + "\n").encode("utf-8"))
    np.save(payload, reps, allow_pickle=False)
    env = {**os.environ, **{name: str(threads) for name in CHILD_ENV_VARS}}
    # Output into files, input from a thread: no pipe can fill up and block either side.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-c", _TSNE_CHILD], stdin=subprocess.PIPE, stdout=out, stderr=err,
                                 env=env)
        threading.Thread(target=_feed, args=(child.stdin, payload.getvalue()), daemon=True).start()
        try:
            _wait_ticking(child, tick)
        finally:
            if child.poll() is None:  # tick raised (cancelled) or anything else went wrong: stop burning CPU
                child.kill()
                child.wait()
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"the t-SNE process failed (exit code {child.returncode}): "
                               f"{err.read().decode('utf-8', 'replace').strip()[-500:]}")
        return np.load(io.BytesIO(out.read()), allow_pickle=False)


def _feed(stream, data: bytes) -> None:
    """Write ``data`` to a child's stdin and close it (a killed child's broken pipe is ignored)."""
    try:
        stream.write(data)
        stream.close()
    except OSError:
        pass


def _wait_ticking(child: subprocess.Popen, tick: Callable[[float], None]) -> None:
    """Wait for ``child`` to exit, calling ``tick(seconds so far)`` every :data:`TICK_SECONDS`."""
    started = time.perf_counter()
    while True:
        try:
            child.wait(timeout=TICK_SECONDS)
            return
        except subprocess.TimeoutExpired:
            tick(time.perf_counter() - started)


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


def _cache_path(weights_sha256: str, ids: Sequence[str], seed: int, perplexity: float, data_fingerprint: str = ""
                ) -> Path:
    # the data's fingerprint: a Hugging Face classifier is projected on whichever dataset the user picks
    key = json.dumps([CACHE_VERSION, weights_sha256, list(ids), int(seed), float(perplexity), data_fingerprint])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return cache_dir() / weights_sha256[:16] / f"{digest}.json"


def _read_cache(path: Path) -> Projection | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return Projection(**record, cached=True)
    except (OSError, ValueError, TypeError):
        return None  # missing or unreadable: recompute and overwrite


REPRESENTATION_SHARE = 0.2  # of the progress bar: the forward passes (t-SNE takes the rest)


def _batch_progress(progress: Callable[[float, str], None] | None):
    """``progress(fraction, message)`` as :func:`sentence_representations`' ``progress(done, total)``."""
    if progress is None:
        return None
    return lambda done, total: progress(REPRESENTATION_SHARE * done / total, f"Sentence vectors: {done}/{total}")


def _tsne_tick(progress: Callable[[float, str], None] | None, n: int):
    """``progress(fraction, message)`` as :func:`tsne_projection`'s ``tick(seconds)``, against :func:`tsne_estimate`."""
    if progress is None:
        return None
    expected = tsne_estimate(n)

    def tick(seconds: float) -> None:
        share = min(seconds / expected, 0.99)
        left = f"about {expected - seconds:.0f} s left" if seconds < expected else "taking longer than estimated"
        progress(REPRESENTATION_SHARE + (1 - REPRESENTATION_SHARE) * share, f"t-SNE of {n} points: {seconds:.0f} s, "
                 f"{left}")
    return tick


def project_model(model, n: int = 500, seed: int = 0, perplexity: float = 30.0, data=None,
                  use_cache: bool = True, progress: Callable[[float, str], None] | None = None) -> Projection:
    """t-SNE projection and class separation of ``n`` seeded test examples of the model's dataset.

    Args:
        model: a :class:`core.models.factory.LoadedModel`.
        n: examples (1..1000; all of the test split when it is smaller).
        seed: draws the sample and seeds t-SNE.
        perplexity: t-SNE perplexity; must be below the number of examples.
        data: the model's :class:`DatasetSplits` (default: the bundled dataset named in its config).
        use_cache: read and write ``$MASKLENS_HOME/representations``; only models loaded from a
            checkpoint (which records ``weights_sha256``) are cached.
        progress: called as ``progress(fraction in [0, 1], message)`` after every batch of forward
            passes and every :data:`TICK_SECONDS` of t-SNE, which then runs in a child process; an
            exception it raises cancels the work (the t-SNE child is killed) and propagates.

    Raises:
        ValueError: bad ``n`` or perplexity, a dataset that is not bundled (pass ``data``), or labels
            that do not match the model.
    """
    from core.data.model_data import label_mismatch, model_dataset

    dataset = model.config.get("dataset", "")
    try:
        data = model_dataset(model.config, getattr(model, "path", None), data)
    except ValueError as err:
        raise ValueError(f"the test data of {model.name or 'the model'}'s dataset {dataset!r} is not available "
                         f"({err})") from err
    mismatch = label_mismatch(list(model.label_names), list(data.label_names))
    if mismatch:
        raise ValueError(f"dataset {data.name!r} does not fit the model: {mismatch}")
    ids, texts, labels = sample_test_examples(data, n, seed)
    if not 0 < perplexity < len(ids):
        raise ValueError(f"perplexity must be between 0 and the number of examples ({len(ids)}), got {perplexity}; "
                         "use a smaller perplexity or more examples")
    sha = model.config.get("weights_sha256")
    path = _cache_path(sha, ids, seed, perplexity, data.fingerprint) if (use_cache and sha) else None
    if path is not None and (hit := _read_cache(path)) is not None:
        return hit
    reps = sentence_representations(model, texts, progress=_batch_progress(progress))
    coords = tsne_projection(reps, seed, perplexity, tick=_tsne_tick(progress, len(reps)))
    projection = Projection(
        model=model.name, dataset=data.name, label_names=list(data.label_names), ids=list(ids), texts=list(texts),
        labels=labels, coords=coords.tolist(),
        separation=separation(reps, labels).to_dict(), seed=int(seed), perplexity=float(perplexity),
        dim=int(reps.shape[1]))
    if path is not None:
        atomic_write_json(path, projection.to_dict())  # NaN (e.g. a one-class sample) round-trips in Python's json
    return projection

