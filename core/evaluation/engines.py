"""Where explanations are computed: in this process (the default) or on a Ray cluster, into the same store.

An engine fills an :class:`~core.evaluation.store.ExplanationFile` with the explanations of the
example ids it lacks. Both engines give the same records: every explainer re-seeds itself with
its ``seed`` at each call (:meth:`core.explain.base.Explainer.explain`), so an example's
explanation does not depend on which process explains it or in which order.

:class:`RayEngine` splits the missing ids into shards. Each Ray actor loads the model (and the
shipped masked LM when an explainer needs it) once, on a GPU when ``gpus_per_worker`` gives it
one, explains a shard and returns its records; the driver writes them through the store's
locked, atomic path as shards finish, so an interrupted run resumes from what was stored, local
and Ray runs mix, and the metrics read the store afterwards as always. A worker that dies is
restarted by Ray and its shard retried (``max_restarts``, ``max_task_retries``). Ray is
imported only when a :class:`RayEngine` starts: importing ``core`` never imports it.

A cluster needs on every node the project at the same path (its ``PYTHONPATH`` is passed on),
the same assets, and the same ``$MASKLENS_HOME`` content for user models (also passed on, with
every ``MASKLENS_*`` variable). Each actor checks that the model it loaded has the driver's
weights fingerprint.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import Any, Callable, Sequence

from core.progress import heartbeat

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("local", "ray")
SHARDS_PER_WORKER = 4  # a few shards per worker, so a slow or retried shard does not hold the others up
SCORE_BATCH = 512  # rows per forward in a metric's scorer; shards are whole batches, so results equal the local ones
KILL_ONCE_VARIABLE = "MASKLENS_RAY_KILL_ONCE"  # test hook: a worker exits in its first shard once (marker file)


class LocalEngine:
    """Explain in this process, one example after the other (the default)."""

    name = "local"

    def fill(self, file, model: Any, model_source: str, name: str, ctor: dict[str, Any],
             make_explainer: Callable[[], Any], missing: Sequence[str], inputs_of: dict[str, Any],
             flush_every: int, on_each: Callable[[], None], on_shard: Callable[[int, int], None] | None = None) -> int:
        """Explain ``missing`` into ``file``; returns how many were tried (see ``ExplanationFile.fill``).

        ``on_shard`` is not called: this engine does not shard."""
        explainer = make_explainer()

        def explain_one(i: str) -> dict[str, Any]:
            inputs = inputs_of[i]
            return (explainer.explain(*inputs) if isinstance(inputs, tuple) else explainer.explain(inputs)).to_dict()

        return file.fill(missing, explain_one, flush_every, on_each=on_each)

    def scorer(self, model: Any, model_source: str, local: Callable) -> Callable:
        """The scorer the metrics use: ``local`` itself (this process)."""
        return local

    def close(self) -> None:
        """Nothing to release."""


def require_ray():
    """The ``ray`` module; ValueError saying how to install it when it is missing."""
    try:
        import ray
    except ImportError as error:
        raise ValueError("the ray engine needs the ray package: pip install -r requirements-ray.txt") from error
    return ray


def shards_of(ids: Sequence[str], workers: int, shard_size: int | None = None) -> list[list[str]]:
    """``ids`` in consecutive shards: ``shard_size`` each, default about :data:`SHARDS_PER_WORKER` per worker."""
    size = shard_size or max(1, math.ceil(len(ids) / (max(1, workers) * SHARDS_PER_WORKER)))
    return [list(ids[start: start + size]) for start in range(0, len(ids), size)]


class ExplainWorker:
    """A Ray actor's state: one loaded model (and likelihood), explaining shards of examples."""

    def __init__(self, model_source: str, fingerprint: str, device: str):
        from core.models import load_model
        from core.threads import apply_thread_policy

        apply_thread_policy(1)  # one Ray CPU per actor: more torch threads would spin on each other
        self.model = load_model(model_source, device=device)
        if self.model.config["weights_sha256"] != fingerprint:
            raise ValueError(f"this node's {model_source!r} is another model than the driver's (weights fingerprint "
                             "differs): install the same assets and user models on every node")
        self.device, self.likelihood, self.explainers = device, None, {}

    def explain(self, name: str, ctor: dict[str, Any], items: list[tuple[str, Any]]
                ) -> list[tuple[str, dict | None, str | None]]:
        """(id, explanation dict or None, error message or None) for each (id, inputs) of a shard."""
        from core.explain.errors import ExplainError

        _maybe_die_once()
        explainer = self._explainer(name, ctor)
        out = []
        for example_id, inputs in items:
            try:
                explanation = explainer.explain(*inputs) if isinstance(inputs, (tuple, list)) else explainer.explain(
                    inputs)
                out.append((example_id, explanation.to_dict(), None))
            except ExplainError as error:
                out.append((example_id, None, str(error)))
        return out

    def score(self, word_lists: list[list[str]]) -> Any:
        """[N, C] class probabilities of word lists (:func:`core.metrics.model_scorer`): a metric's forward passes."""
        from core.metrics import model_scorer

        _maybe_die_once()
        return model_scorer(self.model, SCORE_BATCH)(word_lists)

    def _explainer(self, name: str, ctor: dict[str, Any]):
        import json

        from core.explain.registry import explainer_class, get_explainer

        key = (name, json.dumps(ctor, sort_keys=True, default=str))
        if key not in self.explainers:
            options = dict(ctor)
            if explainer_class(name).needs_likelihood:
                if self.likelihood is None:
                    from core.lm.mlm import load_likelihood

                    self.likelihood = load_likelihood("mlm", device=self.device)
                options["likelihood"] = self.likelihood
            self.explainers[key] = get_explainer(name, self.model, **options)
        return self.explainers[key]


def _maybe_die_once() -> None:
    marker = os.environ.get(KILL_ONCE_VARIABLE)
    if marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)  # noqa: SLF001 - a worker crash, as a killed node would be


REACH_SECONDS = 5.0  # how long a cluster address may take to accept a connection before it is called unreachable


def check_reachable(address: str | None, timeout: float = REACH_SECONDS) -> None:
    """Fail fast for a Ray address nobody listens on (``ray.init`` waits for its own, much longer, timeout).

    ``"ray://host:port"`` and ``"host:port"`` are tried with a TCP connection; None, ``"auto"``,
    ``"local"`` and an address without a port are left to Ray.

    Raises:
        ConnectionError: nothing accepted a connection at that host and port within ``timeout`` seconds.
    """
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ConnectionError(f"cannot reach the Ray cluster at {address} ({err.strerror or err}); start it there "
                              "(`ray start --head`, client port 10001 for ray://) or leave the address empty for a "
                              "local Ray") from err


class RayEngine:
    """Explain on Ray actors: ``workers`` of them, each with ``gpus_per_worker`` GPUs (0: CPU).

    Args:
        address: ``None`` starts a local Ray (``num_cpus`` = ``workers``) unless one is already
            initialised in this process; ``"auto"`` joins the cluster of this node;
            ``"ray://host:port"`` a remote cluster.
        workers: actors (each takes one CPU and ``gpus_per_worker`` GPUs).
        gpus_per_worker: GPUs per actor (fractions share a GPU); the actor's model goes there.
        shard_size: examples per task (default: about four shards per worker).
        on_shard: called with (shards done, shards in all) after each shard is stored.
        min_remote_rows: a metric's scorer call with fewer word lists stays in this process
            (default: one batch, :data:`SCORE_BATCH`; see :meth:`scorer`).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 2, gpus_per_worker: float = 0.0,
                 shard_size: int | None = None, on_shard: Callable[[int, int], None] | None = None,
                 min_remote_rows: int = SCORE_BATCH + 1):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if not isinstance(gpus_per_worker, (int, float)) or gpus_per_worker < 0:
            raise ValueError(f"gpus_per_worker must be a number >= 0, got {gpus_per_worker!r}")
        self.address, self.workers, self.gpus = address, workers, float(gpus_per_worker)
        self.shard_size, self.on_shard, self.min_remote_rows = shard_size, on_shard, int(min_remote_rows)
        self._actors: list[Any] = []
        self._actor_model: tuple[str, str] | None = None
        self._started_ray = False
        self.scored_rows = 0  # word lists the metrics had scored on the actors

    def connect(self):
        """Join (or start) Ray; returns the ray module. Done on first use; call it first to time the work alone."""
        ray = require_ray()
        if not ray.is_initialized():
            check_reachable(self.address)
            env = {k: v for k, v in os.environ.items() if k.startswith("MASKLENS_")}
            env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "runtime_env": {"env_vars": env}}
            if self.address is None:
                options["num_cpus"] = self.workers
            else:
                options["address"] = self.address
            ray.init(**options)
            self._started_ray = True
        return ray

    def _pool(self, model: Any, model_source: str):
        ray = self.connect()
        identity = (model_source, model.config["weights_sha256"])
        if self._actor_model != identity:
            self._kill_actors()
            actor = ray.remote(num_cpus=1, num_gpus=self.gpus, max_restarts=3, max_task_retries=3)(ExplainWorker)
            device = "cuda" if self.gpus > 0 else "cpu"
            self._actors = [actor.remote(model_source, identity[1], device) for _ in range(self.workers)]
            self._actor_model = identity
        from ray.util import ActorPool

        return ActorPool(self._actors)

    def fill(self, file, model: Any, model_source: str, name: str, ctor: dict[str, Any],
             make_explainer: Callable[[], Any], missing: Sequence[str], inputs_of: dict[str, Any],
             flush_every: int, on_each: Callable[[], None], on_shard: Callable[[int, int], None] | None = None) -> int:
        """Explain ``missing`` on the actors, storing each shard's records as it comes back; returns how many.

        ``on_shard`` (and the engine's own) is called with (shards done, shards in all) after each shard."""
        pool = self._pool(model, model_source)
        shards = shards_of(missing, self.workers, self.shard_size)
        tasks = [[(i, inputs_of[i]) for i in shard] for shard in shards]
        tried = 0
        try:
            results = pool.map_unordered(lambda actor, items: actor.explain.remote(name, ctor, items), tasks)
            for done, records in enumerate(results, start=1):
                for example_id, explanation, error in records:
                    if error is None:
                        file.add(example_id, explanation)
                    else:
                        file.add_error(example_id, error)
                    tried += 1
                    on_each()
                if file.dirty >= flush_every:
                    file.flush()
                for report in (self.on_shard, on_shard):
                    if report is not None:
                        report(done, len(tasks))
        finally:
            file.flush()
        return tried

    def scorer(self, model: Any, model_source: str, local: Callable) -> Callable:
        """A scorer that splits each call's word lists across the actors, in whole batches of
        :data:`SCORE_BATCH` rows (so every forward sees the rows it would see locally), and returns
        the rows in order: the metrics' forward passes run on the cluster. Calls of fewer than
        ``min_remote_rows`` word lists stay in this process (``local``)."""
        import numpy as np

        def score(word_lists: list[list[str]]) -> Any:
            if len(word_lists) < self.min_remote_rows:
                return local(word_lists)
            pool = self._pool(model, model_source)
            batches = math.ceil(len(word_lists) / SCORE_BATCH)
            size = SCORE_BATCH * max(1, math.ceil(batches / (self.workers * SHARDS_PER_WORKER)))
            shards = [list(word_lists[start: start + size]) for start in range(0, len(word_lists), size)]
            parts = []
            for part in pool.map(lambda actor, rows: actor.score.remote(rows), shards):  # in order
                heartbeat()
                parts.append(part)
            self.scored_rows += len(word_lists)
            return np.concatenate(parts)

        return score

    def _kill_actors(self) -> None:
        if self._actors:
            ray = require_ray()
            for actor in self._actors:
                ray.kill(actor)
        self._actors, self._actor_model = [], None

    def close(self) -> None:
        """Stop the actors, and the local Ray this engine started (a cluster it joined keeps running)."""
        if not self._actors and not self._started_ray:
            return
        self._kill_actors()
        if self._started_ray:
            require_ray().shutdown()
            self._started_ray = False


def make_engine(engine: str | Any = "local", **ray_options: Any):
    """An engine object from a name (``local``, ``ray`` with ``ray_options``) or an engine already built."""
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        return LocalEngine()
    if engine == "ray":
        return RayEngine(**ray_options)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
