"""Training methods (base, l2, vmask, iba, l2x, att, vat, evarm, evarm_mask) behind one entry point, :func:`train`."""

from core.training.methods import METHODS
from core.training.trainer import TrainEvent, TrainResult, TrainSettings, train

__all__ = ["METHODS", "TrainEvent", "TrainResult", "TrainSettings", "train"]
