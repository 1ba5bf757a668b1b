"""Rebuild the shipped sentence-pair checkpoints.

``python scripts/train_pair_models.py [--only dattn|minilm]``

- ``dattn-trec6-answer-type-pairs``: decomposable attention trained on the
  ``trec6-answer-type-pairs`` derivation (core/data/pairs.py), 40 epochs, seed 0.
- ``minilm-sim-trec6-answer-type-pairs``: the packaged MiniLM encoder as a cosine
  similarity classifier, threshold and scale calibrated on the same pairs' train split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import paths  # noqa: E402
from core.data.pairs import TREC_PAIRS, trec_answer_type_pairs  # noqa: E402
from core.models.architectures import DATTN, MINILM_SIM  # noqa: E402
from core.models.pair_build import build_pair_classifier, bundle_pair, save_pair_model  # noqa: E402
from core.training.pairs import PairTrainSettings, calibrate_similarity, train_dattn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--only", choices=("dattn", "minilm"))
    parser.add_argument("--epochs", type=int, default=40, help="DAttn epochs (the best dev epoch is kept)")
    args = parser.parse_args()
    data = trec_answer_type_pairs()
    if args.only in (None, "dattn"):
        settings = PairTrainSettings(name=f"{DATTN.name}-{TREC_PAIRS}", epochs=args.epochs, device="cpu")
        _, metrics = train_dattn(data, settings, output_dir=paths.SHIPPED_CHECKPOINTS_DIR, overwrite=True)
        print(DATTN.name, json.dumps(metrics))
    if args.only in (None, "minilm"):
        model_config = MINILM_SIM.model_config()
        config = {"architecture": MINILM_SIM.name, "method": "calibrated-cosine", "dataset": TREC_PAIRS, "pair": True,
                  "label_names": ["not similar", "similar"], "model_config": model_config,
                  "mask_config": {"kind": "none"}, "data_fingerprint": data.fingerprint}
        model = bundle_pair(build_pair_classifier(MINILM_SIM.name, model_config, 2), config)
        calibration = calibrate_similarity(model, data)
        model.config["calibration"] = calibration
        model.config["metrics"] = {"dev_accuracy": calibration["dev_accuracy"],
                                   "test_accuracy": calibration["test_accuracy"],
                                   "majority_test_accuracy": calibration["majority_test_accuracy"]}
        save_pair_model(model, paths.SHIPPED_CHECKPOINTS_DIR / f"{MINILM_SIM.name}-{TREC_PAIRS}")
        print(MINILM_SIM.name, json.dumps(calibration))


if __name__ == "__main__":
    main()
