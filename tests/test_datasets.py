"""Tests for the bundled datasets (assets/data) and core.data.datasets."""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import io
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from core import paths
from core.data import bundled
from core.data import datasets as D
from core.data.datasets import DatasetError, load_dataset, load_user_csv
from core.data.text import clean_text

EXPECTED_NAMES = ["movie-snippets", "movie-snippets-5", "rt-polarity", "subj", "trec6", "food-reviews", "tweets"]
REPO_ROOT = Path(__file__).resolve().parent.parent


def _manifest() -> dict:
    return json.loads((paths.DATA_DIR / "manifest.json").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _build_script():
    """Import scripts/build_datasets.py (for its label rules and sentence splitter)."""
    name = "masklens_build_datasets"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / "build_datasets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def _csv_bytes(rows: list[tuple], header=("text", "label")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _valid_rows(n_per_class: int = 10) -> list[tuple]:
    good = [(f"a truly great film number {i}", "pos") for i in range(n_per_class)]
    bad = [(f"a really awful film number {i}", "neg") for i in range(n_per_class)]
    return good + bad


# --------------------------------------------------------------------------- bundled datasets


def test_list_datasets_names_the_bundled_sets():
    assert D.list_datasets() == EXPECTED_NAMES


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_bundled_dataset_matches_manifest(name):
    info = _manifest()["datasets"][name]
    ds = load_dataset(name)
    assert ds.name == name
    assert list(ds.label_names) == info["label_names"]
    assert (ds.max_len, ds.min_freq) == (info["max_len"], info["min_freq"])
    for split_name in D.SPLIT_NAMES:
        split = ds.split(split_name)
        assert len(split) == info["counts"][split_name]
        counts = Counter(ds.label_names[i] for i in split.labels)
        assert {k: v for k, v in info["label_counts"][split_name].items() if v} == dict(counts)
        assert all(0 <= i < len(ds.label_names) for i in split.labels)
        assert len(set(split.labels)) >= 2, f"{name}/{split_name} has fewer than 2 classes"
        assert all(t == t.strip() and t for t in split.texts)
    all_ids = ds.train.ids + ds.dev.ids + ds.test.ids
    assert len(set(all_ids)) == len(all_ids)


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_bundled_splits_are_disjoint_on_clean_text(name):
    ds = load_dataset(name)
    cleaned = {s: {clean_text(t) for t in ds.split(s).texts} for s in D.SPLIT_NAMES}
    total = sum(len(ds.split(s)) for s in D.SPLIT_NAMES)
    assert sum(len(c) for c in cleaned.values()) == total, "duplicate cleaned texts inside a split"
    assert not cleaned["train"] & cleaned["dev"]
    assert not cleaned["train"] & cleaned["test"]
    assert not cleaned["dev"] & cleaned["test"]


@pytest.mark.parametrize("name", [n for n in EXPECTED_NAMES if n != "food-reviews"])
def test_bundled_split_is_about_80_10_10(name):
    ds = load_dataset(name)
    total = len(ds.train) + len(ds.dev) + len(ds.test)
    assert abs(len(ds.test) / total - 0.1) < 0.01
    assert abs(len(ds.dev) / total - 0.1) < 0.01


def test_food_reviews_uses_the_package_test_set():
    ds = load_dataset("food-reviews")
    assert all(i.startswith("test-") for i in ds.test.ids)
    assert all(i.startswith("train-") for i in ds.train.ids + ds.dev.ids)
    assert not any("<br" in t for t in ds.train.texts + ds.test.texts)


def _file_rows(name: str) -> list[dict]:
    data = gzip.decompress((paths.DATA_DIR / f"{name}.csv.gz").read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(data, newline="")))


@pytest.mark.parametrize("name, rule", [("movie-snippets", "sign_label"), ("movie-snippets-5", "sst5_label"),
                                        ("tweets", "tweet_label")])
def test_vader_labels_follow_the_documented_rating_rule(name, rule):
    label_of = getattr(_build_script(), rule)
    rows = _file_rows(name)
    assert all(label_of(float(r["rating"])) == r["label"] for r in rows)


def test_trec6_keeps_the_fine_label():
    rows = _file_rows("trec6")
    assert len({r["fine"] for r in rows}) >= 45
    assert all(r["fine"].split(":")[0] == r["label"] for r in rows)


def test_label_rules_at_the_cut_offs():
    build = _build_script()
    assert build.sign_label(0.0) is None
    assert [build.sst5_label(r) for r in (-2.4, -2.39, -0.8, 0.0, 0.8, 0.81, 2.4, 2.41)] == [
        "very negative", "negative", "negative", "neutral", "neutral", "positive", "positive", "very positive"]
    assert [build.tweet_label(r) for r in (-0.5, -0.49, 0.49, 0.5)] == ["negative", "neutral", "neutral", "positive"]


def test_sentence_splitter_respects_abbreviations():
    build = _build_script()
    text = "Mr. Smith meets J. R. Ewing in the U.S. Army. They fight!\n\nThe end? \"Yes.\" Maybe."
    assert build.split_sentences(text) == [
        "Mr. Smith meets J. R. Ewing in the U.S. Army.", "They fight!", "The end?", "\"Yes.\"", "Maybe."]


def test_fingerprint_is_stable_and_changes_for_a_subset():
    first = load_dataset("trec6")
    bundled._load_bundled.cache_clear()
    second = load_dataset("trec6")
    assert first is not second
    assert first.fingerprint == second.fingerprint
    small = first.subset(max_train=200, max_eval=50, seed=3)
    assert (len(small.train), len(small.dev), len(small.test)) == (200, 50, 50)
    assert small.fingerprint != first.fingerprint
    assert small.fingerprint == first.subset(max_train=200, max_eval=50, seed=3).fingerprint
    assert small.fingerprint != first.subset(max_train=200, max_eval=50, seed=4).fingerprint
    assert set(small.train.ids) <= set(first.train.ids)


def test_subset_and_split_reject_bad_arguments():
    ds = load_dataset("tweets")
    with pytest.raises(DatasetError, match="max_train"):
        ds.subset(max_train=0)
    with pytest.raises(DatasetError, match="unknown split 'validation'"):
        ds.split("validation")


def test_unknown_dataset_lists_available_names():
    with pytest.raises(DatasetError, match="unknown dataset 'sst2'.*movie-snippets.*tweets"):
        load_dataset("sst2")


def test_sha256_mismatch_names_the_file(tmp_path, monkeypatch):
    shutil.copy(paths.DATA_DIR / "manifest.json", tmp_path / "manifest.json")
    original = (paths.DATA_DIR / "trec6.csv.gz").read_bytes()
    rows = gzip.decompress(original).decode("utf-8").replace("Popeye Doyle", "Popeye Doyel")
    (tmp_path / "trec6.csv.gz").write_bytes(gzip.compress(rows.encode("utf-8"), mtime=0))
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    with pytest.raises(DatasetError, match=r"trec6\.csv\.gz.*sha256"):
        load_dataset("trec6")
    (tmp_path / "trec6.csv.gz").write_bytes(original)
    assert len(load_dataset("trec6").train) == _manifest()["datasets"]["trec6"]["counts"]["train"]


def test_missing_manifest_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    with pytest.raises(DatasetError, match="manifest.*missing"):
        D.list_datasets()


# --------------------------------------------------------------------------- user CSV


def test_user_csv_round_trips_counts(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = _valid_rows(15) + [("  ", "pos"), ("@#$ %", "neg")]
    path.write_bytes(_csv_bytes(rows))
    ds = load_user_csv(path)
    assert ds.name == "reviews"
    assert ds.label_names == ("neg", "pos")
    assert len(ds.train) + len(ds.dev) + len(ds.test) == 30
    assert (len(ds.dev), len(ds.test)) == (4, 4)
    for split in (ds.train, ds.dev, ds.test):
        assert sorted(Counter(split.labels)) == [0, 1]
    by_text = dict(zip(ds.train.texts + ds.dev.texts + ds.test.texts, ds.train.labels + ds.dev.labels + ds.test.labels))
    assert by_text["a truly great film number 3"] == ds.label_names.index("pos")
    assert ds.max_len == 10 and ds.min_freq == 1
    assert ds.fingerprint == load_user_csv(path).fingerprint


def test_user_csv_from_bytesio_with_bom_and_int_labels():
    rows = [(t, 1 if label == "pos" else 0) for t, label in _valid_rows(10)]
    upload = io.BytesIO(b"\xef\xbb\xbf" + _csv_bytes(rows))
    upload.name = "my upload.csv"
    ds = load_user_csv(upload, max_len=40, min_freq=2)
    assert ds.name == "my upload"
    assert ds.label_names == ("0", "1")
    assert (ds.max_len, ds.min_freq) == (40, 2)
    assert len(ds.train) + len(ds.dev) + len(ds.test) == 20


def test_user_csv_custom_columns_split_column_and_dedup():
    rows = [(t, label, "train") for t, label in _valid_rows(10)]
    rows[0] = (rows[0][0], rows[0][1], "test")
    rows[10] = (rows[10][0], rows[10][1], "dev")
    # Two more copies of row 3 (pos, train) once cleaned: the majority label pos wins, row 3 is kept.
    rows += [("A TRULY great film number 3", "neg", "test"), ("a truly great film  number 3.", "pos", "dev")]
    data = _csv_bytes(rows, header=("review", "stars", "split"))
    ds = load_user_csv(io.BytesIO(data), text_column="review", label_column="stars")
    assert (len(ds.train), len(ds.dev), len(ds.test)) == (18, 1, 1)
    assert "a truly great film number 3" in ds.train.texts
    assert ds.test.texts == ("a truly great film number 0",)


def test_user_csv_duplicates_take_the_majority_label():
    rows = _valid_rows(10) + [("Same text", "pos"), ("same text!", "neg"), ("same  TEXT", "pos"),
                              ("tied text", "pos"), ("Tied text", "neg")]
    ds = load_user_csv(io.BytesIO(_csv_bytes(rows)))
    texts = ds.train.texts + ds.dev.texts + ds.test.texts
    labels = ds.train.labels + ds.dev.labels + ds.test.labels
    assert [ds.label_names[l] for t, l in zip(texts, labels) if clean_text(t) == "same text"] == ["pos"]
    assert "same text !" in {clean_text(t) for t in texts}
    assert not any(clean_text(t) == "tied text" for t in texts)


@pytest.mark.parametrize("data, message", [
    (b"", r"empty \(0 bytes\)"),
    (b"  \n\n", "empty"),
    (b"text,label\n", "header .* but no data rows"),
    ("text,label\n" + "\n".join(f"caf\xe9 cr\xe8me number {i},{i % 2}" for i in range(12)),
     "not UTF-8"),
    (b"\xff\xfet\x00e\x00x\x00t\x00", "not UTF-8"),
    (b"text,label\n\"unterminated,pos\nmore,neg\n", "cannot be parsed as CSV"),
    (b"text,label\ngood film,pos,extra\n", "cannot be parsed as CSV: row 2 has 3 fields"),
    (b"review,label\nnice,pos\n", r"no column 'text'; columns found: 'review', 'label'"),
    (b"text,sentiment\nnice,pos\n", r"no column 'label'; columns found: 'text', 'sentiment'"),
    (b"text,label\n@@,pos\n ,neg\n#,neg\n", "no row of column 'text' contains any words"),
])
def test_user_csv_bad_inputs_raise_clear_errors(data, message):
    if isinstance(data, str):
        data = data.encode("latin-1")
    with pytest.raises(DatasetError, match=message):
        load_user_csv(io.BytesIO(data))


def test_user_csv_one_class_few_rows_and_tiny_class():
    one_class = _csv_bytes([(f"good film {i}", "pos") for i in range(12)])
    with pytest.raises(DatasetError, match=r"only one class \('pos'\)"):
        load_user_csv(io.BytesIO(one_class))
    few = _csv_bytes([("good film", "pos"), ("bad film", "neg"), ("fine film", "pos")])
    with pytest.raises(DatasetError, match="too few rows: 3 usable"):
        load_user_csv(io.BytesIO(few))
    tiny = _csv_bytes(_valid_rows(6) + [("a neutral film", "meh")])
    with pytest.raises(DatasetError, match="'meh' have fewer than 2 examples"):
        load_user_csv(io.BytesIO(tiny))


def test_user_csv_missing_file_blank_label_and_bad_split(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_user_csv(tmp_path / "nope.csv")
    blank = _csv_bytes(_valid_rows(6) + [("some film", "")])
    with pytest.raises(DatasetError, match=r"empty 'label' \(first at row 14"):
        load_user_csv(io.BytesIO(blank))
    bad_split = _csv_bytes([(t, label, "validation") for t, label in _valid_rows(6)], header=("text", "label", "split"))
    with pytest.raises(DatasetError, match="column 'split' has values \\['validation'\\]"):
        load_user_csv(io.BytesIO(bad_split))
    with pytest.raises(DatasetError, match="dev_fraction"):
        load_user_csv(io.BytesIO(_csv_bytes(_valid_rows(6))), dev_fraction=0)


@pytest.mark.parametrize("value", ["NaN", "nan", "null", "None", "NA", "n/a", "<NA>"])
def test_user_csv_missing_value_labels_are_refused_not_made_a_class(value):
    data = _csv_bytes(_valid_rows(6) + [("an unlabelled film", value), ("a second unlabelled film", value)])
    with pytest.raises(DatasetError, match=rf"2 rows have a missing 'label' \(first at row 14, counting the header "
                                           rf"as row 1: '{re.escape(value)}'\)"):
        load_user_csv(io.BytesIO(data))


def test_user_csv_labels_that_only_look_like_missing_values_are_classes():
    rows = [(f"a film about bread number {i}", "naan") for i in range(6)] + \
           [(f"a film about a grandmother number {i}", "nana") for i in range(6)] + \
           [(f"a film with no tag number {i}", "none of these") for i in range(6)]
    assert load_user_csv(io.BytesIO(_csv_bytes(rows))).label_names == ("naan", "nana", "none of these")
    numbers = [(t, 0 if label == "neg" else 1) for t, label in _valid_rows(6)]
    assert load_user_csv(io.BytesIO(_csv_bytes(numbers))).label_names == ("0", "1")


def test_user_csv_duplicate_header_names_are_refused():
    twice = _csv_bytes([(t, label, label) for t, label in _valid_rows(6)], header=("text", "label", "label"))
    with pytest.raises(DatasetError, match=r"names a column more than once: 'label' \(columns 2, 3\)"):
        load_user_csv(io.BytesIO(twice))
    texts = _csv_bytes([(t, t, label) for t, label in _valid_rows(6)], header=("text", "text", "label"))
    with pytest.raises(DatasetError, match=r"'text' \(columns 1, 2\)"):
        load_user_csv(io.BytesIO(texts))
    # Unnamed columns (a spreadsheet's trailing commas) are never read, so two of them are fine.
    unnamed = _csv_bytes([(t, label, "", "") for t, label in _valid_rows(6)], header=("text", "label", "", ""))
    assert load_user_csv(io.BytesIO(unnamed)).label_names == ("neg", "pos")


def test_user_csv_default_max_len_is_clipped_95th_percentile():
    long_rows = [(" ".join(["word"] * 300) + f" {i}", "pos" if i % 2 else "neg") for i in range(20)]
    assert load_user_csv(io.BytesIO(_csv_bytes(long_rows))).max_len == 256
    mid_rows = [(" ".join(["word"] * (i + 1)), "pos" if i % 2 else "neg") for i in range(40)]
    assert load_user_csv(io.BytesIO(_csv_bytes(mid_rows))).max_len == 38


def test_stratified_split_is_deterministic_and_order_free():
    keys = [f"text {i}" for i in range(100)]
    labels = ["a" if i % 4 else "b" for i in range(100)]
    first = D.stratified_split(keys, labels, seed=13)
    reversed_result = D.stratified_split(keys[::-1], labels[::-1], seed=13)[::-1]
    assert first == reversed_result
    assert Counter(zip(labels, first)) == {("a", "train"): 59, ("a", "dev"): 8, ("a", "test"): 8,
                                           ("b", "train"): 19, ("b", "dev"): 3, ("b", "test"): 3}
    assert first != D.stratified_split(keys, labels, seed=14)
