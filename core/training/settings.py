"""What defines a single-text training run (:class:`TrainSettings`), its defaults and the configs it implies.

Every field declares its default and its one-line help together (``setting``); the Train
page's tooltips (:func:`setting_help`) and the class docstring's attribute list are read from
there. Defaults left ``None`` are filled in per architecture by :meth:`TrainSettings.resolved`
from :class:`core.models.architectures.ArchitectureSpec`.
"""

from __future__ import annotations

import copy
from dataclasses import Field, dataclass, field, fields
from typing import Any

from core.data.datasets import DatasetSplits
from core.data.tokenizers import Vocab
from core.models.architectures import (ARCHITECTURE_SPECS, ArchitectureSpec, architecture_names, architecture_spec,
                                       names_where)
from core.models.encoder import encoder_identity, resolve_source
from core.models.evarm import EVarMGate
from core.training.methods import BETA_SCHEDULES, check_architecture, method_spec

HELP = "help"
SINGLE_TEXT = architecture_names(pair=False, trainable=True)
# Per-architecture defaults of the ``None`` fields (snapshots of the architecture specs, for the old tables' callers).
DEFAULT_LR = {name: ARCHITECTURE_SPECS[name].learning_rate for name in SINGLE_TEXT}
DEFAULT_BATCH = {name: ARCHITECTURE_SPECS[name].batch_size for name in SINGLE_TEXT}
DEFAULT_EPOCHS = {name: ARCHITECTURE_SPECS[name].epochs for name in SINGLE_TEXT}
DEFAULT_VAT_ITERATIONS = {name: ARCHITECTURE_SPECS[name].vat_iterations for name in SINGLE_TEXT
                          if ARCHITECTURE_SPECS[name].vat_iterations is not None}
TAU_MASKS = ("vmask", "l2x", EVarMGate.kind)  # mask kinds sampled with a Gumbel-softmax temperature


def per_architecture(attribute: str) -> str:
    """A spec default in prose, grouped by value: ``"10 for cnn/lstm, 3 for minilm"`` for ``epochs``."""
    groups: dict[Any, list[str]] = {}
    for name in SINGLE_TEXT:
        value = getattr(ARCHITECTURE_SPECS[name], attribute)
        if value is not None:
            groups.setdefault(value, []).append(name)
    return ", ".join(f"{value} for {'/'.join(names)}" for value, names in groups.items())


def _choices(names: tuple[str, ...]) -> str:
    quoted = [f"``{name}``" for name in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def setting(default: Any, text: str) -> Any:
    """A :class:`TrainSettings` field with its default and its one-line help."""
    return field(default=default, metadata={HELP: text})


_ADAM = ("Adam settings (None: per-architecture defaults; for minilm the mask layer and head use lr 1e-3, "
         "the encoder ``lr``).")
_BETA = "VMASK's annealed weight of -H(q(R|x)): first value and floor."
_STEP = "the ``step`` schedule's decrement and its period in epochs."
_SUBSET = "optional subset sizes (seeded) for quick runs."


@dataclass
class TrainSettings:
    """Everything that defines a training run (stored in the checkpoint).

    ``None`` defaults are resolved per architecture (:meth:`resolved`). Each field's
    description is declared with it (:func:`setting_help`); the list below is built from those.
    """

    dataset: str = setting("movie-snippets", "bundled dataset name (ignored when :func:`train` gets ``data``).")
    architecture: str = setting("cnn", f"{_choices(SINGLE_TEXT)}.")
    method: str = setting("base", "one of :data:`core.training.methods.METHODS` (``att``/``vat``: lstm or minilm; "
                                  "``evarm``/``evarm_mask``: minilm).")
    epochs: int | None = setting(None, f"passes over the training set (None: {per_architecture('epochs')}); for "
                                       "``vat`` the attention warm-up before the iterations.")
    batch_size: int | None = setting(None, _ADAM)
    lr: float | None = setting(None, _ADAM)
    beta_start: float = setting(1.0, _BETA)
    beta_end: float = setting(0.01, _BETA)
    beta_schedule: str = setting("step", "``step`` (default, the VMASK authors' released scripts: ``beta_start`` "
                                         "minus ``beta_decrement`` after every ``beta_every`` epochs, floor "
                                         "``beta_end``; :func:`core.training.methods.step_beta`) or ``geometric`` "
                                         "(log-linear from ``beta_start`` to ``beta_end`` over all steps; "
                                         ":func:`~core.training.methods.annealed_beta`).")
    beta_decrement: float = setting(0.099, _STEP)
    beta_every: int = setting(10, _STEP)
    iba_beta: float = setting(1e-3, "IBA's weight of its KL bound.")
    l2_weight: float = setting(1e-4, "weight of ||theta||^2 for the l2 method.")
    tau: float = setting(0.5, "Gumbel-softmax temperature (VMASK, L2X).")
    mask_hidden: int | None = setting(None, "hidden size of the mask inference network (None: 100 for word models, "
                                            "the encoder width for minilm).")
    l2x_k: int = setting(10, "words L2X selects.")
    vib_beta: float = setting(0.1, "beta of eq. 8 in VAT (KL weight) and E-VarM (weight of -H(q(r|x))).")
    vat_iterations: int | None = setting(None, "VAT compressor/learner rounds "
                                               f"(None: {per_architecture('vat_iterations')}).")
    vat_phase_epochs: int = setting(1, "epochs of each VAT compressor and learner phase.")
    supcon_tau: float = setting(0.5, "E-VarM contrastive temperature (eq. 10).")
    minilm_trainable_layers: int | None = setting(None, "fine-tune only the top n MiniLM layers (None: all); the "
                                                        "frozen lower layers are not stored in the checkpoint.")
    encoder: str | None = setting(None, "the transformer classifier's encoder (minilm: MiniLM by default): a local "
                                        "Hugging Face folder or the name of a model in the local Hugging Face cache "
                                        "(BERT, RoBERTa, DistilBERT, ...; never downloaded); None: the packaged "
                                        "MiniLM.")
    clip_norm: float = setting(5.0, "gradient-norm clip.")
    max_train: int | None = setting(None, _SUBSET)
    max_eval: int | None = setting(None, _SUBSET)
    seed: int = setting(0, "seeds initialisation, sampling and shuffling.")
    device: str = setting("auto", "``auto``, ``cpu`` or ``cuda``.")
    name: str | None = setting(None, "checkpoint name (default ``{architecture}-{method}-{dataset}``).")
    half_precision: bool = setting(False, "store float16 weights.")

    def resolved(self) -> "TrainSettings":
        """A copy with every ``None`` default filled in from the architecture's spec, and the values checked.

        Raises:
            ValueError: an unknown architecture/method or a non-positive count or rate.
        """
        spec = architecture_spec(self.architecture, pair=False)
        check_architecture(self.method, self.architecture)
        settings = copy.copy(self)
        if self.method == "vat" and self.vat_iterations is None:
            settings.vat_iterations = spec.vat_iterations
        settings.epochs = _or_default(self.epochs, spec.epochs)
        settings.batch_size = _or_default(self.batch_size, spec.batch_size)
        settings.lr = _or_default(self.lr, spec.learning_rate)
        settings.mask_hidden = _or_default(self.mask_hidden, spec.mask_hidden)
        settings.name = _or_default(self.name, default_model_name(self.architecture, self.method, self.dataset,
                                                                  self.encoder))
        settings.check(spec)
        return settings

    def check(self, spec: ArchitectureSpec) -> None:
        """ValueError naming the first resolved value that is out of range for ``spec``'s architecture."""
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        for label in ("epochs", "lr", "mask_hidden", "tau", "l2x_k", "vib_beta", "vat_phase_epochs", "supcon_tau"):
            if getattr(self, label) <= 0:
                raise ValueError(f"{label} must be positive, got {getattr(self, label)}")
        if (self.vat_iterations or 0) < 0:
            raise ValueError(f"vat_iterations must be 0 or more, got {self.vat_iterations}")
        check_encoder(self.encoder, spec)
        check_trainable_layers(self.minilm_trainable_layers, spec, custom_encoder=self.encoder is not None)
        if not 0 < self.beta_end <= self.beta_start:
            raise ValueError("need 0 < beta_end <= beta_start")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"unknown beta_schedule {self.beta_schedule!r}; choose one of {', '.join(BETA_SCHEDULES)}")
        if self.beta_decrement < 0 or self.beta_every < 1:
            raise ValueError("need beta_decrement >= 0 and beta_every >= 1")


def _or_default(value: Any, default: Any) -> Any:
    return value if value is not None else default


def check_trainable_layers(layers: int | None, spec: ArchitectureSpec, custom_encoder: bool = False) -> None:
    """ValueError when ``minilm_trainable_layers`` is set for ``spec`` without the option, or out of its range.

    With a user's encoder (``custom_encoder``) only the lower end is checked here; the classifier
    checks the upper end against the encoder's own layer count when it is built.
    """
    if layers is None or (spec.trainable_layers and spec.trainable_layers[0] <= layers
                          and (custom_encoder or layers <= spec.trainable_layers[1])):
        return
    ranges = " or ".join(f"{s.name} and a value in {s.trainable_layers[0]}..{s.trainable_layers[1]}"
                         for s in ARCHITECTURE_SPECS.values() if s.trainable_layers)
    raise ValueError(f"minilm_trainable_layers needs architecture {ranges}")


def check_encoder(encoder: str | None, spec: ArchitectureSpec) -> None:
    """ValueError when ``encoder`` is set for ``spec`` without the option, or names no local encoder.

    The message of a missing encoder says where it looked (:func:`core.models.encoder.resolve_source`).
    """
    if encoder is None:
        return
    if not spec.custom_encoder:
        takes = " or ".join(names_where(lambda other: other.custom_encoder))
        raise ValueError(f"an encoder needs architecture {takes} (the transformer classifier), not {spec.name!r}")
    resolve_source(encoder)


def plain_model_name(architecture: str, method: str, dataset: str, encoder: str | None = None) -> str:
    """``{architecture}-{method}-{dataset}``; with a user's ``encoder`` its folder's (or cached name's)
    last part instead of the architecture, e.g. ``bert-base-uncased-vmask-movie-snippets``."""
    from core.models.hf_classifier import suggested_name

    return f"{suggested_name(encoder) if encoder else architecture}-{method}-{dataset}"


def default_model_name(architecture: str, method: str, dataset: str, encoder: str | None = None) -> str:
    """:func:`plain_model_name`, with ``-user`` appended when a shipped model has that name
    (a user model of a shipped name would be hidden by it; the README's own commands hit this)."""
    from core.registry import shipped_model_names

    name = plain_model_name(architecture, method, dataset, encoder)
    return f"{name}-user" if name in shipped_model_names() else name


def settings_fields() -> tuple[Field, ...]:
    """The fields of :class:`TrainSettings`, in declaration order (each with its default and help)."""
    return fields(TrainSettings)


def setting_help(name: str) -> str:
    """The one-line help of the :class:`TrainSettings` field ``name``.

    Raises:
        ValueError: no such field.
    """
    for item in settings_fields():
        if item.name == name:
            return item.metadata.get(HELP, "")
    raise ValueError(f"unknown training setting {name!r}")


def settings_help() -> dict[str, str]:
    """Every :class:`TrainSettings` field's help, by field name."""
    return {item.name: item.metadata.get(HELP, "") for item in settings_fields()}


def mask_config(settings: TrainSettings) -> dict[str, Any]:
    """The checkpoint's mask config for a resolved run: the method's mask kind and its layer arguments."""
    kind = method_spec(settings.method).mask_kind
    config: dict[str, Any] = {"kind": kind}
    if kind != "none":
        config["hidden_dim"] = settings.mask_hidden
    if kind in TAU_MASKS:
        config["tau"] = settings.tau
    if kind == "l2x":
        config["k"] = settings.l2x_k
    return config


def model_config(settings: TrainSettings, data: DatasetSplits, train_words: list[list[str]]) -> dict[str, Any]:
    """The checkpoint's model config for a resolved run: the spec's sizes plus what the data and method add.

    Word models get the training vocabulary, the dataset's ``max_len`` and the run's seed for
    vectors outside GloVe; ``pooling`` and VAT's ``compressor`` come from the method; a user's
    encoder is stored as its identity (:func:`core.models.encoder.encoder_identity`).
    """
    spec = architecture_spec(settings.architecture, pair=False)
    config = spec.model_config()
    if not spec.transformer:
        config["vocab"] = Vocab.build(train_words, min_freq=data.min_freq).words
        config["max_len"] = data.max_len
        config["embedding_seed"] = settings.seed
    if settings.minilm_trainable_layers is not None:
        config["trainable_layers"] = settings.minilm_trainable_layers
    if settings.encoder is not None:
        config["encoder"] = encoder_identity(settings.encoder)
    pooling = method_spec(settings.method).pooling
    if pooling:
        config["pooling"] = pooling
    if settings.method == "vat":
        config["compressor"] = {}
    return config


def _document(cls: type) -> type:
    """Append an ``Attributes:`` list built from the fields' help to ``cls``'s docstring."""
    lines = [f"        {item.name}: {item.metadata.get(HELP, '')}" for item in fields(cls)]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Attributes:\n" + "\n".join(lines) + "\n"
    return cls


_document(TrainSettings)
