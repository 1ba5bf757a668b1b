"""Hardening: the one model-name rule, recoverable checkpoint saves (kill -9 at every step), bad
checkpoint files that break nothing else, and results that are never mixed up between models or data."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.checkpoints import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, read_config, save_checkpoint
from core.cli_common import run_cli
from core.fileio import atomic_directory, recover_directories
from core.registry import list_models, new_model_directory
from tests.toy import toy_dataset

REPO = Path(__file__).resolve().parent.parent


def write_toy_csv(path: Path, n: int = 120) -> Path:
    """A text,label CSV of the toy task (enough rows for train/dev/test)."""
    data = toy_dataset(n_train=n, n_eval=10)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for text, label in zip(data.train.texts, data.train.labels):
            writer.writerow([text, data.label_names[label]])
    return path


def train_cli(*args: str) -> int:
    from core.train import main

    return run_cli(main, ["--model", "cnn", "--method", "base", "--epochs", "1", "--no-progress", *args])


@pytest.fixture
def toy_csv(tmp_path):
    return write_toy_csv(tmp_path / "toy.csv")


# ------------------------------------------------------------------------------------------- the name rule

@pytest.mark.parametrize("name", [".", "..", "../../x", "/tmp/elsewhere", "a/b", "", "-x", "x" * 101, "sp ace"])
def test_train_cli_refuses_names_that_are_not_plain(name, masklens_home, toy_csv, tmp_path, capsys):
    models = masklens_home / "models"
    (models / "keep-me").mkdir(parents=True)
    (models / "keep-me" / "config.json").write_text("{}")
    outside = tmp_path / "unrelated"
    outside.mkdir()
    (outside / "precious.txt").write_text("data")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert train_cli("--csv", str(toy_csv), f"--name={name}") == 2
    assert "is not allowed" in capsys.readouterr().err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_an_existing_model_is_refused_unless_overwrite_is_asked(masklens_home, toy_csv, capsys):
    assert train_cli("--csv", str(toy_csv), "--name", "mine") == 0
    first = read_config(masklens_home / "models" / "mine")["weights_sha256"]
    assert train_cli("--csv", str(toy_csv), "--name", "mine", "--seed", "1") == 2
    assert "already exists" in capsys.readouterr().err
    assert read_config(masklens_home / "models" / "mine")["weights_sha256"] == first
    assert train_cli("--csv", str(toy_csv), "--name", "mine", "--seed", "1", "--overwrite") == 0
    assert read_config(masklens_home / "models" / "mine")["weights_sha256"] != first


def test_overwrite_never_replaces_a_folder_that_is_not_a_checkpoint(masklens_home):
    (masklens_home / "models" / "notes").mkdir(parents=True)
    (masklens_home / "models" / "notes" / "todo.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a readable MaskLens checkpoint"):
        new_model_directory("notes", overwrite=True)


def test_shipped_names_are_refused_and_the_default_name_steps_aside(masklens_home, capsys):
    from core.training import TrainSettings

    with pytest.raises(ValueError, match="shipped model"):
        new_model_directory("cnn-vmask-movie-snippets")
    assert TrainSettings(method="vmask").resolved().name == "cnn-vmask-movie-snippets-user"
    assert TrainSettings(dataset="trec6", method="l2").resolved().name == "cnn-l2-trec6"
    assert train_cli("--dataset", "movie-snippets", "--name", "cnn-base-movie-snippets", "--max-train", "50") == 2
    assert "shipped model" in capsys.readouterr().err


def test_train_python_api_applies_the_same_rule(masklens_home):
    from core.training import TrainSettings, train

    with pytest.raises(ValueError, match="is not allowed"):
        train(TrainSettings(epochs=1, name="../escape"), data=toy_dataset(n_train=40, n_eval=10), progress=False)
    assert not (masklens_home / "escape").exists()


# --------------------------------------------------------------------------- saves that survive kill -9

KILL_POINTS = ["atomic_directory.written", "atomic_directory.complete", "atomic_directory.between_renames",
               "atomic_directory.replaced"]


def _train_until(point: str, csv_path: Path, home: Path, tmp: Path, *extra: str) -> None:
    """Run ``python -m core.train`` in a child, wait until it pauses at ``point``, SIGKILL it."""
    ready = tmp / f"ready-{point}"
    env = {**os.environ, "MASKLENS_HOME": str(home), "MASKLENS_FAULT_POINT": point, "MASKLENS_FAULT_READY": str(ready)}
    command = [sys.executable, "-m", "core.train", "--csv", str(csv_path), "--model", "cnn", "--epochs", "1",
               "--name", "victim", "--no-progress", *extra]
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            if child.poll() is not None:
                raise AssertionError(f"child ended before {point}: {child.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, f"child never reached {point}"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_any_step_of_a_checkpoint_save_leaves_a_loadable_model(point, masklens_home, toy_csv, tmp_path):
    from core.models import load_model

    assert train_cli("--csv", str(toy_csv), "--name", "victim") == 0
    old = read_config(masklens_home / "models" / "victim")["weights_sha256"]
    _train_until(point, toy_csv, masklens_home, tmp_path, "--seed", "1", "--overwrite")
    problems: list[str] = []
    names = {r.name for r in list_models(problems=problems)}  # the next start recovers
    assert "victim" in names
    now = read_config(masklens_home / "models" / "victim")["weights_sha256"]
    # a save whose files were all written (".new") is finished; an unfinished one is rolled back
    assert now == old if point == "atomic_directory.written" else now != old
    load_model("victim", device="cpu")
    assert [p.name for p in (masklens_home / "models").iterdir()] == ["victim"]  # nothing stranded


def test_a_kill_during_a_first_save_leaves_nothing_behind(masklens_home, toy_csv, tmp_path):
    _train_until("atomic_directory.written", toy_csv, masklens_home, tmp_path)
    assert "victim" not in {r.name for r in list_models()}
    assert list((masklens_home / "models").iterdir()) == []


def test_recovery_leaves_saves_of_live_processes_alone(tmp_path):
    live = tmp_path / f".model.{os.getppid()}-0123abcd.tmp"  # the parent (pytest's launcher) is alive
    live.mkdir()
    dead = tmp_path / ".model.999999999-0123abcd.tmp"
    dead.mkdir()
    assert recover_directories(tmp_path) == [f"removed {dead}"]
    assert live.exists() and not dead.exists()


def test_two_saves_of_one_name_in_one_process_do_not_share_work_paths(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_directory(target) as first:
        with atomic_directory(target) as second:
            assert first != second
            (second / "a.txt").write_text("second")
        (first / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


# ------------------------------------------------------------------- one bad file must not break everything

def _fake_config(**fields) -> dict:
    config = {"format": "masklens-checkpoint", "format_version": 1, "architecture": "cnn", "method": "base",
              "dataset": "toy", "label_names": ["negative", "positive"], "model_config": {}, "weights_sha256": "0" * 64}
    config.update(fields)
    return config


BAD_CONFIGS = {
    "deeply-nested": lambda: '{"format": ' + "[" * 100000 + "]" * 100000 + "}",
    "label-names-number": lambda: json.dumps(_fake_config(label_names=5)),
    "metrics-list": lambda: json.dumps(_fake_config(metrics=[])),
    "model-config-string": lambda: json.dumps(_fake_config(model_config="cnn")),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_malformed_user_config_is_reported_and_breaks_nothing_else(case, masklens_home):
    from core.models import load_model
    from core.models.__main__ import main as models_main

    bad = masklens_home / "models" / case
    bad.mkdir(parents=True)
    (bad / CONFIG_FILE).write_text(BAD_CONFIGS[case](), encoding="utf-8")
    problems: list[str] = []
    records = list_models(problems=problems)
    assert "cnn-vmask-movie-snippets" in {r.name for r in records} and case not in {r.name for r in records}
    assert any(str(bad) in p for p in problems)
    assert run_cli(models_main, ["list"]) == 0
    assert load_model("cnn-base-trec6", device="cpu").name == "cnn-base-trec6"
    with pytest.raises(CheckpointError, match=str(bad / CONFIG_FILE)):
        read_config(bad)


@pytest.fixture(scope="module")
def shipped_cnn_config() -> tuple[dict, bytes]:
    from core.paths import SHIPPED_CHECKPOINTS_DIR

    source = SHIPPED_CHECKPOINTS_DIR / "cnn-base-trec6"
    return json.loads((source / CONFIG_FILE).read_text()), (source / WEIGHTS_FILE).read_bytes()


def _edited_copy(directory: Path, config: dict, weights: bytes) -> Path:
    directory.mkdir(parents=True)
    (directory / CONFIG_FILE).write_text(json.dumps(config))
    (directory / WEIGHTS_FILE).write_bytes(weights)
    return directory


def _drop(config: dict, key: str) -> dict:
    model_config = dict(config["model_config"])
    del model_config[key]
    return {**config, "model_config": model_config}


SHAPE_PROBLEMS = {
    "unknown mask option": (lambda c: {**c, "mask_config": {"kind": "vmask", "bogus": 1}}, "does not build"),
    "unknown mask kind": (lambda c: {**c, "mask_config": {"kind": "nonsense"}}, "unknown mask kind"),
    "changed filter count": (lambda c: {**c, "model_config": {**c["model_config"], "num_filters": 7}},
                             "does not build"),
    "missing model_config key": (lambda c: _drop(c, "filter_sizes"), "lacks the key"),
    "more classes than the head": (lambda c: {**c, "label_names": ["a", "b", "c"]}, "does not build"),
}


@pytest.mark.parametrize("case", sorted(SHAPE_PROBLEMS))
def test_every_shape_problem_is_a_checkpoint_error_naming_the_file(case, shipped_cnn_config, tmp_path):
    from core.models import load_model

    config, weights = shipped_cnn_config
    edit, message = SHAPE_PROBLEMS[case]
    directory = _edited_copy(tmp_path / "edited", edit(config), weights)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_model(directory, device="cpu")
    assert str(directory) in str(caught.value)


def test_a_state_dict_shape_mismatch_is_a_checkpoint_error(tmp_path):
    import torch

    from core.models import load_model
    from core.models.factory import build_classifier, bundle, save_model
    from core.training.trainer import TrainSettings, _model_config

    data = toy_dataset(n_train=40, n_eval=10)
    settings = TrainSettings(epochs=1).resolved()
    words = [text.split() for text in data.train.texts]
    config = {"architecture": "cnn", "method": "base", "dataset": "toy", "label_names": list(data.label_names),
              "model_config": _model_config(settings, data, words), "mask_config": {"kind": "none"}}
    net = build_classifier("cnn", config["model_config"], config["mask_config"], 2)
    save_model(bundle(net, config), tmp_path / "m")
    saved = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    state = {k: v for k, v in net.state_dict().items() if k not in set(net.frozen_parameter_names())}
    key = next(k for k in state if k.endswith("weight") and state[k].dim() == 2)
    state[key] = torch.zeros(state[key].shape[0] + 1, state[key].shape[1])
    save_checkpoint(tmp_path / "m", state, saved)
    with pytest.raises(CheckpointError, match=str(tmp_path / "m")):
        load_model(tmp_path / "m", device="cpu")


def test_a_garbage_safetensors_in_a_likelihood_directory_is_a_clear_error(tmp_path, capsys):
    from transformers import AutoTokenizer, BertConfig

    from core.data import pretrained
    from core.lm.__main__ import main as lm_main
    from core.lm.mlm import MLMNotAvailableError, load_likelihood

    BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=32).save_pretrained(tmp_path / "lm")
    AutoTokenizer.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True).save_pretrained(tmp_path / "lm")
    (tmp_path / "lm" / "model.safetensors").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(MLMNotAvailableError, match="cannot load a masked language model"):
        load_likelihood(str(tmp_path / "lm"))
    assert run_cli(lm_main, ["probe", "the movie was [MASK] .", "--model", str(tmp_path / "lm")]) == 2
    assert "cannot load a masked language model" in capsys.readouterr().err


# ------------------------------------------------------------------------------ results never mixed up

def test_a_csv_named_like_a_bundled_dataset_is_evaluated_on_its_own_test_split(masklens_home, tmp_path):
    from core.data.datasets import load_dataset, load_user_csv
    from core.evaluation import evaluate
    from core.models import load_model

    clash = write_toy_csv(tmp_path / "movie-snippets.csv")
    assert train_cli("--csv", str(clash), "--name", "csv-model") == 0
    model = load_model("csv-model", device="cpu")
    assert model.config["dataset"] == "movie-snippets"
    own_test = set(load_user_csv(clash).test.ids)
    records = evaluate("csv-model", explainers=["zero"], metrics=["aopc"], n=500, progress=False)
    assert records[0]["n"] == len(own_test) < len(load_dataset("movie-snippets").test)
    stored = json.loads(next((masklens_home / "evaluations").rglob("zero-*.json")).read_text())
    assert set(stored["explanations"]) <= own_test
    (masklens_home / "models" / "csv-model" / "test_split.json").unlink()  # an older checkpoint: no copy
    with pytest.raises(ValueError, match="not available here"):
        evaluate("csv-model", explainers=["zero"], metrics=["aopc"], n=5, progress=False)
    again = evaluate("csv-model", explainers=["zero"], metrics=["aopc"], n=500, progress=False,
                     data=load_user_csv(clash))
    assert again[0]["metrics"] == records[0]["metrics"]


def test_shipped_models_trained_on_a_subset_still_find_their_bundled_data():
    from core.data.model_data import model_dataset
    from core.paths import SHIPPED_CHECKPOINTS_DIR

    config = read_config(SHIPPED_CHECKPOINTS_DIR / "minilm-vmask-movie-snippets")
    assert config["training"]["max_train"]  # trained on a seeded subset: its fingerprint is the subset's
    assert model_dataset(config).name == "movie-snippets"


def test_hf_pair_models_in_same_named_folders_get_different_fingerprints(tmp_path):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from core.data import pretrained
    from core.models import load_model

    tokenizer = AutoTokenizer.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True)
    fingerprints = []
    for seed in (0, 1):
        folder = tmp_path / f"run{seed}" / "model"
        torch.manual_seed(seed)
        BertForSequenceClassification(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                 intermediate_size=32, num_labels=2)).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        fingerprints.append(load_model(f"hf-pair:{folder}", device="cpu").config["weights_sha256"])
    assert fingerprints[0] != fingerprints[1] and all(len(f) == 64 for f in fingerprints)
    again = load_model(f"hf-pair:{tmp_path / 'run0' / 'model'}", device="cpu").config["weights_sha256"]
    assert again == fingerprints[0]


def test_only_user_data_is_copied_into_the_checkpoint(masklens_home):
    from core.data.datasets import load_dataset
    from core.training import TrainSettings, train

    bundled = train(TrainSettings(dataset="trec6", epochs=1, max_train=60, name="bundled-run"),
                    data=load_dataset("trec6"), progress=False)
    assert not (bundled.path / "test_split.json").exists()  # the bundled test split is found by fingerprint
    own = train(TrainSettings(epochs=1, name="own-run"), data=toy_dataset(n_train=40, n_eval=10), progress=False)
    assert (own.path / "test_split.json").is_file()
