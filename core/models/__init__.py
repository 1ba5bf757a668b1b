"""Classifiers with a mask slot after the embedding layer, and their loading/saving.

``python -m core.models list [--format json|table]`` lists every available model.
"""

from core.models.architectures import ArchitectureSpec, architecture_spec
from core.models.factory import ARCHITECTURES, LoadedModel, build_classifier, bundle, default_model_config, save_model
from core.models.loading import load_model

__all__ = ["ARCHITECTURES", "ArchitectureSpec", "LoadedModel", "architecture_spec", "build_classifier", "bundle",
           "default_model_config", "load_model", "save_model"]
