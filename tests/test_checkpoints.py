"""Checkpoints: exact round-trip, clear errors on damaged files, atomic replacement, registry."""

import json
import subprocess
import sys

import numpy as np
import pytest

from core.checkpoints import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, read_config
from core.fileio import atomic_directory
from core.models import load_model
from core.registry import ModelNotFoundError, find_model, list_models
from core.training import TrainSettings, train
from tests.toy import toy_dataset

TEXTS = ["a great movie", "the plot was awful", "boring", "superb acting , really"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    result = train(TrainSettings(architecture="cnn", method="vmask", epochs=1, name="toy-cnn"), data=toy_dataset(),
                   output_dir=out, progress=False)
    return result


def test_round_trip_gives_identical_predictions(trained):
    loaded = load_model(trained.path, device="cpu")
    assert np.array_equal(loaded.predict_proba(TEXTS), trained.model.predict_proba(TEXTS))
    assert loaded.config["metrics"] == trained.metrics
    assert loaded.config["global_importance"]["words"][0] in {"great", "good", "wonderful", "superb", "bad",
                                                              "awful", "terrible", "boring"}


def test_half_precision_round_trip_is_close(trained, tmp_path):
    from core.models import save_model

    path = save_model(trained.model, tmp_path / "half", half_precision=True)
    loaded = load_model(path, device="cpu")
    assert np.allclose(loaded.predict_proba(TEXTS), trained.model.predict_proba(TEXTS), atol=2e-3)
    assert (path / WEIGHTS_FILE).stat().st_size < (trained.path / WEIGHTS_FILE).stat().st_size


def copy_checkpoint(src, dst):
    dst.mkdir()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_truncated_weights_raise_a_clear_error(trained, tmp_path):
    broken = copy_checkpoint(trained.path, tmp_path / "broken")
    data = (broken / WEIGHTS_FILE).read_bytes()
    (broken / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*truncated"):
        load_model(broken)


def test_corrupt_config_names_the_file(trained, tmp_path):
    broken = copy_checkpoint(trained.path, tmp_path / "broken")
    (broken / CONFIG_FILE).write_text('{"format": "masklens-checkpoint", ', encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"config\.json.*not valid JSON"):
        read_config(broken)


def test_changed_pretrained_table_is_detected(trained, tmp_path):
    broken = copy_checkpoint(trained.path, tmp_path / "broken")
    config = json.loads((broken / CONFIG_FILE).read_text())
    config["frozen_fingerprints"]["embedding.weight"] = "0" * 64
    (broken / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="pretrained parameter embedding.weight differs"):
        load_model(broken)


def test_missing_checkpoint_directory(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint config not found"):
        read_config(tmp_path / "nothing")


def test_atomic_directory_keeps_the_old_version_on_failure(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("half-written new")
            raise RuntimeError("killed")
    assert (target / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temp directory left


def test_registry_lists_user_models_and_explains_unknown_names(trained, masklens_home):
    target = masklens_home / "models" / "toy-cnn"
    target.parent.mkdir(parents=True)
    copy_checkpoint(trained.path, target)
    (masklens_home / "models" / "junk").mkdir()  # not a checkpoint: reported, not fatal
    problems = []
    records = {r.name: r for r in list_models(problems=problems)}
    assert records["toy-cnn"].method == "vmask" and records["toy-cnn"].source == "user"
    assert records["toy-cnn"].test_accuracy == trained.metrics["test_accuracy"]
    assert any("junk" in p for p in problems)
    assert find_model("toy-cnn").architecture == "cnn"
    with pytest.raises(ModelNotFoundError, match="toy-cnn"):
        find_model("no-such-model")
    assert load_model("toy-cnn", device="cpu").name == "toy-cnn"


def test_models_cli_prints_json_records(trained, masklens_home):
    target = masklens_home / "models" / "toy-cnn"
    target.parent.mkdir(parents=True)
    copy_checkpoint(trained.path, target)
    out = subprocess.run([sys.executable, "-m", "core.models", "list", "--format", "json"], capture_output=True,
                         text=True, check=True, env={**__import__("os").environ, "MASKLENS_HOME": str(masklens_home)})
    records = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(records["toy-cnn"]) >= {"name", "dataset", "architecture", "method", "test_accuracy", "pair", "path"}
    assert records["toy-cnn"]["pair"] is False
