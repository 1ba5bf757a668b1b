"""The model families MaskLens builds, trains and explains, each described once (:class:`ArchitectureSpec`).

Every per-architecture choice reads a spec instead of testing a name: how the
network and its tokenizer are built from a model config, which training
methods apply, the training defaults, which parameters VAT's learner phase
trains, the Train page's extra fields, and the explainers' defaults.

===========  =====  ===========  =================================  ===============  ===========  =============
name         pair   transformer  methods                            lr / batch       epochs       explain batch
===========  =====  ===========  =================================  ===============  ===========  =============
cnn          no     no           base l2 vmask iba l2x              1e-3 / 50        10           512
lstm         no     no           ... att vat                        1e-3 / 50        10           512
minilm       no     yes          ... att vat evarm evarm_mask       3e-5 / 32        3            64
dattn        yes    no           base (:mod:`core.training.pairs`)  1e-3 / 64        15           512
minilm-sim   yes    yes          none (calibrated, not trained)     -                -            32
hf           no     yes          none (a user's own classifier)     -                -            64
===========  =====  ===========  =================================  ===============  ===========  =============

``methods`` of a single-text architecture are :data:`core.training.methods.METHODS`
(each method's ``architectures`` is read from here); those of a pair
architecture name its pair training (``base``: :func:`core.training.pairs.train_dattn`).
``minilm`` is the transformer classifier: the packaged MiniLM by default, or any Hugging Face
encoder a user names (``custom_encoder``; :mod:`core.models.encoder`).
A new family is one :func:`register_architecture` call.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from torch import nn

from core.data import pretrained
from core.data.tokenizers import SubwordTokenizer, Vocab, WordPieceTokenizer, WordTokenizer
from core.models.cnn import CNNClassifier
from core.models.dattn import DecomposableAttention
from core.models.encoder import ENCODER_PREFIX, build_encoder, is_source, word_pieces_directory
from core.models.evarm import EVarMClassifier, EVarMGate
from core.models.hf_classifier import build_hf_classifier, hf_tokenizer, source_fingerprint
from core.models.hf_pair import build_hf_pair_classifier, hf_pair_tokenizer
from core.models.lstm import LSTMClassifier
from core.models.masks import MASK_LAYERS
from core.models.minilm import MiniLMClassifier
from core.models.minilm_sim import CosineSimilarityClassifier

Builder = Callable[[dict[str, Any], dict[str, Any], int], nn.Module]
TokenizerBuilder = Callable[[dict[str, Any]], Any]
NO_MASK = "none"


@dataclass(frozen=True, eq=False)
class ArchitectureSpec:
    """What one model family is and every per-architecture default (one instance per name).

    Attributes:
        name: the ``architecture`` of checkpoint configs and of ``TrainSettings``.
        label: its name in prose (page text, captions).
        pair: a sentence-pair model (:class:`core.models.pair.PairClassifier`), else a single-text
            :class:`core.models.base.MaskedTextClassifier`.
        transformer: a pretrained BERT-family encoder over word pieces (slow on a CPU: the Train
            page's GPU hint); else a word model over a vocabulary built from the training data.
        default_model_config: the paper-derived sizes, without the data-dependent keys
            (``vocab``, and ``max_len`` of word models); copy it with :meth:`model_config`.
        build: ``(model_config, mask_config, num_classes) -> network``, freshly initialised
            (frozen pretrained parts loaded); pair families ignore the mask config.
        tokenizer: ``model_config -> tokenizer`` (applied to each text alone for pairs).
        methods: the training methods that can train it (see the module docstring).
        learning_rate, batch_size, epochs: training defaults (None: not trained by gradient).
        explain_batch_size: most perturbed inputs an explainer sends through it at once.
        gmask_defaults: IMASK/GMASK settings that replace the explainers' own defaults
            (``steps``, ``n_samples``) for a slow family; empty for the others.
        vat_iterations: VAT's compressor/learner rounds (None: VAT does not apply).
        vat_encoder_prefixes: names (prefixes) of the encoder parameters VAT's learner phase trains.
        mask_hidden: hidden size of the mask inference network (None: no mask methods).
        head_learning_rate: Adam rate of the parameters outside the encoder (mask layer, head)
            when it differs from ``learning_rate`` (None: one rate for everything).
        trainable_layers: the range (first, last) of ``minilm_trainable_layers`` (fine-tune only
            the top n encoder layers); None: the option does not apply.
        layer_gate: E-VarM's gate fits (it reads the hidden states of every encoder layer).
        custom_encoder: the family runs on any Hugging Face encoder a user names
            (``TrainSettings.encoder``, ``--encoder``; :mod:`core.models.encoder`) instead of its default one.
        page_fields: ``TrainSettings`` fields the Train page shows for this family only.
        source_fingerprint: for a family built whole from a source its config names (a user's
            Hugging Face classifier), with nothing stored in a checkpoint: the fingerprint of the
            built network, which must equal the config's ``weights_sha256`` when it is loaded.
            None: the weights are in the checkpoint's weights file.
    """

    name: str
    label: str
    pair: bool
    transformer: bool
    default_model_config: Mapping[str, Any]
    build: Builder
    tokenizer: TokenizerBuilder
    methods: tuple[str, ...]
    learning_rate: float | None
    batch_size: int | None
    epochs: int | None
    explain_batch_size: int
    gmask_defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    vat_iterations: int | None = None
    vat_encoder_prefixes: tuple[str, ...] = ()
    mask_hidden: int | None = None
    head_learning_rate: float | None = None
    trainable_layers: tuple[int, int] | None = None
    layer_gate: bool = False
    custom_encoder: bool = False
    page_fields: tuple[str, ...] = ()
    source_fingerprint: Callable[[nn.Module], str] | None = None

    def model_config(self) -> dict[str, Any]:
        """A fresh (deep) copy of :attr:`default_model_config`, safe to change."""
        return copy.deepcopy(dict(self.default_model_config))

    def check(self) -> None:
        """ValueError when the spec contradicts itself (VAT without its settings, a bad layer range)."""
        if ("vat" in self.methods) != (self.vat_iterations is not None and bool(self.vat_encoder_prefixes)):
            raise ValueError(f"architecture {self.name!r}: VAT needs vat_iterations and vat_encoder_prefixes")
        if self.trainable_layers is not None and not 1 <= self.trainable_layers[0] <= self.trainable_layers[1]:
            raise ValueError(f"architecture {self.name!r}: bad trainable_layers range {self.trainable_layers}")
        if self.explain_batch_size < 1:
            raise ValueError(f"architecture {self.name!r}: explain_batch_size must be at least 1")


ARCHITECTURE_SPECS: dict[str, ArchitectureSpec] = {}


def register_architecture(spec: ArchitectureSpec) -> ArchitectureSpec:
    """Add ``spec`` to the registry (checked; a name can be registered once) and return it."""
    spec.check()
    if spec.name in ARCHITECTURE_SPECS:
        raise ValueError(f"architecture {spec.name!r} is already registered")
    ARCHITECTURE_SPECS[spec.name] = spec
    return spec


def architecture_names(pair: bool | None = None, trainable: bool = False) -> tuple[str, ...]:
    """Registered names in registration order; ``pair`` keeps one kind only, ``trainable`` those with methods."""
    return tuple(name for name, spec in ARCHITECTURE_SPECS.items()
                 if (pair is None or spec.pair == pair) and (spec.methods or not trainable))


def architecture_spec(name: str, pair: bool | None = None) -> ArchitectureSpec:
    """The spec of ``name``; ``pair`` (True/False) also requires that kind of model.

    Raises:
        ValueError: an unknown name (or one of the other kind), listing the choices.
    """
    spec = ARCHITECTURE_SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(architecture_names(pair))}")
    if pair is not None and spec.pair != pair:
        kind = "sentence-pair" if pair else "single-text"
        raise ValueError(f"unknown {kind} architecture {name!r} (it is a {'single-text' if pair else 'sentence-pair'}"
                         f" model); choose one of {', '.join(architecture_names(pair))}")
    return spec


def names_where(test: Callable[[ArchitectureSpec], bool]) -> tuple[str, ...]:
    """Registered names whose spec passes ``test`` (e.g. ``lambda s: s.layer_gate``), for messages."""
    return tuple(name for name, spec in ARCHITECTURE_SPECS.items() if test(spec))


# --- builders -------------------------------------------------------------------------------------------------


def mask_layer(mask_config: dict[str, Any], width: int) -> nn.Module | None:
    """The mask-slot layer a mask config names (None for ``none``), over inputs of ``width``."""
    options = dict(mask_config)
    kind = options.pop("kind", NO_MASK)
    return MASK_LAYERS[kind](width, **options) if kind != NO_MASK else None


def _glove(model_config: dict[str, Any]):
    table, _ = pretrained.glove_table(model_config["vocab"], seed=int(model_config["embedding_seed"]))
    return table


def _build_cnn(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    table = _glove(model_config)
    return CNNClassifier(table, num_classes, filter_sizes=model_config["filter_sizes"],
                         num_filters=model_config["num_filters"], dropout=model_config["dropout"],
                         mask_layer=mask_layer(mask_config, table.shape[1]))


def _build_lstm(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    table = _glove(model_config)
    return LSTMClassifier(table, num_classes, hidden_dim=model_config["hidden_dim"], dropout=model_config["dropout"],
                          mask_layer=mask_layer(mask_config, table.shape[1]),
                          pooling=model_config.get("pooling", "max"))


def _build_minilm(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    encoder = build_encoder(model_config["encoder"])
    options = {"dropout": model_config["dropout"], "pooling": model_config.get("pooling", "mean"),
               "trainable_layers": model_config.get("trainable_layers")}
    hidden = encoder.config.hidden_size
    if mask_config.get("kind") == EVarMGate.kind:
        gate_options = {k: v for k, v in mask_config.items() if k != "kind"}
        gate = EVarMGate(hidden, encoder.config.num_hidden_layers + 1, **gate_options)
        return EVarMClassifier(encoder, num_classes, mask_layer=gate, **options)
    return MiniLMClassifier(encoder, num_classes, mask_layer=mask_layer(mask_config, hidden), **options)


def _build_dattn(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    return DecomposableAttention(_glove(model_config), num_classes, hidden_dim=int(model_config["hidden_dim"]),
                                 dropout=float(model_config["dropout"]))


def _build_minilm_sim(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    return CosineSimilarityClassifier(build_encoder(model_config["encoder"]))


def _build_hf(model_config: dict[str, Any], mask_config: dict[str, Any], num_classes: int) -> nn.Module:
    if mask_config.get("kind", NO_MASK) != NO_MASK:
        raise ValueError("a Hugging Face classifier has no mask slot; train masks with --encoder instead")
    return build_hf_classifier(model_config, num_classes)


def word_tokenizer(model_config: dict[str, Any]) -> WordTokenizer:
    """A word tokenizer over the config's ``vocab``; texts are padded to the widest CNN filter."""
    min_len = max(model_config.get("filter_sizes", [1]))
    return WordTokenizer(Vocab(model_config["vocab"]), max_len=int(model_config["max_len"]), min_len=min_len)


def word_piece_tokenizer(model_config: dict[str, Any]) -> WordPieceTokenizer | SubwordTokenizer:
    """The encoder's own tokenizer, cutting texts at the config's ``max_len`` pieces.

    The packaged MiniLM's WordPiece vocabulary gets :class:`WordPieceTokenizer`; a user's encoder
    (``{"source": ...}``) the :class:`SubwordTokenizer` of its folder (WordPiece, BPE or
    SentencePiece), both on MaskLens' cleaned words.
    """
    directory, max_len = word_pieces_directory(model_config), int(model_config["max_len"])
    if is_source(model_config["encoder"]):
        return SubwordTokenizer.from_directory(directory, max_len=max_len, words="clean")
    return WordPieceTokenizer.from_directory(directory, max_len=max_len)


# --- the families -----------------------------------------------------------------------------------------------

SINGLE_TEXT_METHODS = ("base", "l2", "vmask", "iba", "l2x")
ATTENTION_METHODS = ("att", "vat")  # the VAT paper's attention learner
WORD_MODEL_EXPLAIN_BATCH = 512

CNN = register_architecture(ArchitectureSpec(
    name="cnn", label="CNN", pair=False, transformer=False,
    default_model_config=MappingProxyType({"filter_sizes": [3, 4, 5], "num_filters": 100, "dropout": 0.2,
                                           "embedding_seed": 0}),
    build=_build_cnn, tokenizer=word_tokenizer, methods=SINGLE_TEXT_METHODS,
    learning_rate=1e-3, batch_size=50, epochs=10, explain_batch_size=WORD_MODEL_EXPLAIN_BATCH, mask_hidden=100))

LSTM = register_architecture(ArchitectureSpec(
    name="lstm", label="LSTM", pair=False, transformer=False,
    default_model_config=MappingProxyType({"hidden_dim": 150, "dropout": 0.2, "embedding_seed": 0}),
    build=_build_lstm, tokenizer=word_tokenizer, methods=SINGLE_TEXT_METHODS + ATTENTION_METHODS,
    learning_rate=1e-3, batch_size=50, epochs=10, explain_batch_size=WORD_MODEL_EXPLAIN_BATCH, mask_hidden=100,
    vat_iterations=1, vat_encoder_prefixes=("lstm.",)))  # VAT iterations: the best columns of the paper's Table 6

MINILM = register_architecture(ArchitectureSpec(
    name="minilm", label="MiniLM", pair=False, transformer=True,
    default_model_config=MappingProxyType({"encoder": "packaged", "dropout": 0.2, "max_len": 128}),
    build=_build_minilm, tokenizer=word_piece_tokenizer,
    methods=SINGLE_TEXT_METHODS + ATTENTION_METHODS + ("evarm", "evarm_mask"),
    learning_rate=3e-5, batch_size=32, epochs=3, explain_batch_size=64, mask_hidden=384,  # the encoder's width
    vat_iterations=2, vat_encoder_prefixes=(ENCODER_PREFIX,), head_learning_rate=1e-3, trainable_layers=(1, 6),
    layer_gate=True, custom_encoder=True, page_fields=("minilm_trainable_layers", "encoder")))

DATTN = register_architecture(ArchitectureSpec(
    name="dattn", label="DAttn", pair=True, transformer=False,
    default_model_config=MappingProxyType({"hidden_dim": 100, "dropout": 0.2, "max_len": 40, "embedding_seed": 0}),
    build=_build_dattn, tokenizer=word_tokenizer, methods=("base",),
    learning_rate=1e-3, batch_size=64, epochs=15, explain_batch_size=WORD_MODEL_EXPLAIN_BATCH))

MINILM_SIM = register_architecture(ArchitectureSpec(
    name="minilm-sim", label="MiniLM similarity", pair=True, transformer=True,
    default_model_config=MappingProxyType({"encoder": "packaged", "max_len": 128}),
    build=_build_minilm_sim, tokenizer=word_piece_tokenizer, methods=(),  # calibrated: scripts/train_pair_models.py
    learning_rate=None, batch_size=None, epochs=None, explain_batch_size=32,
    gmask_defaults=MappingProxyType({"steps": 30, "n_samples": 32})))

HF = register_architecture(ArchitectureSpec(
    name="hf", label="Hugging Face classifier", pair=False, transformer=True,
    default_model_config=MappingProxyType({"source": "", "max_len": 128}),
    build=_build_hf, tokenizer=hf_tokenizer, methods=(),  # a user's own model: explained, not trained here
    learning_rate=None, batch_size=None, epochs=None, explain_batch_size=64, source_fingerprint=source_fingerprint))

HF_PAIR = register_architecture(ArchitectureSpec(
    name="hf-pair", label="Hugging Face pair classifier", pair=True, transformer=True,
    default_model_config=MappingProxyType({"source": "", "max_len": 128}),
    build=lambda model_config, mask_config, num_classes: build_hf_pair_classifier(model_config, num_classes),
    tokenizer=hf_pair_tokenizer, methods=(),  # a user's own cross-encoder: explained, not trained here
    learning_rate=None, batch_size=None, epochs=None, explain_batch_size=32,
    source_fingerprint=source_fingerprint))  # the same wrapped-model fingerprint as HF

ARCHITECTURES = architecture_names(pair=False)
PAIR_ARCHITECTURES = architecture_names(pair=True)
