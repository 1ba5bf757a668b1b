"""Bad input as a new user gives it: every case must end in a refusal whose message names the problem.

Three entry points, one matrix each:

(a) the explain command line (``core.explain.__main__.main``): the exact error
    class from ``main``, and through ``core.cli_common.run_cli`` exit status 2
    with ``error: <message>`` on stderr and nothing on stdout;
(b) the Python API ``core.explain.explain()`` (and ``explain_pair``);
(c) CSV uploads (``load_user_csv`` / ``load_pair_csv`` with bytes).

Each case gives the exact error class and a piece of the message that names
the problem. Models are shipped ones (cnn-vmask-movie-snippets, 50 words at
most; dattn-trec6-answer-type-pairs, 40 words a text).
"""

from __future__ import annotations

import csv
import io

import pytest

from core.cli_common import run_cli
from core.data.datasets import DatasetError, load_user_csv
from core.data.pairs import load_pair_csv
from core.explain import ExplainError, explain
from core.explain.__main__ import main
from core.explain.registry import explain_pair
from core.lm.mlm import MLMNotAvailableError
from core.models import load_model
from core.registry import ModelNotFoundError

MODEL = "cnn-vmask-movie-snippets"
PAIR_MODEL = "dattn-trec6-answer-type-pairs"
TEXT = "the acting is wooden but the score is wonderful"
LONG_TEXT = " ".join(["a gripping film"] * 30)   # 90 words; the model reads the first 50
QUESTION_A, QUESTION_B = "what city is the largest in the world", "who wrote the novel"


def assert_refused(info: pytest.ExceptionInfo, error: type[Exception], message: str) -> None:
    """The exception is exactly ``error`` (not a subclass or a parent) and its message contains ``message``."""
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert message in str(info.value), f"{message!r} not in {str(info.value)!r}"


# --------------------------------------------------------------------------- (a) the explain command line


def cli_args(**options: str | None) -> list[str]:
    """argv for ``python -m core.explain``: a valid single-text call with ``options`` changed (None drops one).

    Option names use underscores: ``n_samples="1"`` is ``--n-samples 1``.
    """
    argv = {"model": MODEL, "text": TEXT, "methods": "zero", "device": "cpu", **options}
    return [part for name, value in argv.items() if value is not None
            for part in (f"--{name.replace('_', '-')}", value)]


CLI_CASES = [
    pytest.param({"model": "no-such-model"}, ModelNotFoundError, "no model named 'no-such-model'", id="unknown-model"),
    pytest.param({"model": "./no/such/dir"}, ModelNotFoundError, "no model named './no/such/dir'", id="missing-dir"),
    pytest.param({"device": "bogus"}, ValueError, "unknown device 'bogus'", id="unknown-device"),
    pytest.param({"text": ""}, ExplainError, "The text is empty", id="empty-text"),
    pytest.param({"text": "   "}, ExplainError, "The text is empty", id="blank-text"),
    pytest.param({"text": "!!!"}, ExplainError, "only punctuation", id="punctuation-only"),
    pytest.param({"text": "qqzx wwzq"}, ExplainError, "None of the words is in the vocabulary", id="no-known-word"),
    pytest.param({"methods": "magic"}, ExplainError, "unknown explainer 'magic'", id="unknown-method"),
    pytest.param({"methods": ","}, ExplainError, "no method given; choose from zero, unk", id="methods-comma"),
    pytest.param({"methods": " , "}, ExplainError, "no method given; choose from zero, unk", id="methods-blank"),
    pytest.param({"methods": ""}, ExplainError, "no method given; choose from", id="methods-empty"),
    pytest.param({"target": "sideways"}, ExplainError, "unknown class 'sideways'; classes are negative, positive",
                 id="unknown-target-name"),
    pytest.param({"target": "7"}, ExplainError, "target must be a class index in 0..1", id="target-out-of-range"),
    pytest.param({"target": "-1"}, ExplainError, "target must be a class index in 0..1", id="target-negative"),
    pytest.param({"methods": "marginal", "likelihood": "uniform", "sigma": "1.5"}, ExplainError,
                 "sigma must be in [0, 1), got 1.5", id="sigma-too-big"),
    pytest.param({"methods": "marginal", "likelihood": "uniform", "sigma": "nan"}, ExplainError,
                 "sigma must be in [0, 1), got nan", id="sigma-nan"),
    pytest.param({"methods": "marginal", "likelihood": "no-such-lm"}, MLMNotAvailableError,
                 "masked LM 'no-such-lm' is not available", id="unknown-likelihood"),
    pytest.param({"methods": "lime", "n_samples": "1"}, ExplainError, "LIME needs at least 10", id="lime-1-sample"),
    pytest.param({"methods": "lime", "n_samples": "0"}, ExplainError, "lime: n_samples must be a positive integer",
                 id="lime-0-samples"),
    pytest.param({"methods": "lime", "n_samples": "30", "text": LONG_TEXT}, ExplainError,
                 "too few for 50 words; LIME needs more samples than words (here at least 51)",
                 id="lime-fewer-samples-than-words"),
    pytest.param({"methods": "shapley", "n_samples": "0"}, ExplainError,
                 "shapley: n_permutations (n_samples) must be a positive integer, got 0", id="shapley-0"),
    pytest.param({"methods": "shapley", "n_samples": "-3"}, ExplainError,
                 "shapley: n_permutations (n_samples) must be a positive integer, got -3", id="shapley-negative"),
    pytest.param({"text_b": "a second text"}, ExplainError, "--text-b was given but cnn-vmask-movie-snippets reads "
                 "one text", id="text-b-for-single-model"),
    pytest.param({"model": PAIR_MODEL, "text": QUESTION_A}, ExplainError, "give the second text with --text-b",
                 id="pair-model-without-text-b"),
    pytest.param({"model": PAIR_MODEL, "text": QUESTION_A, "text_b": QUESTION_B, "methods": ","}, ExplainError,
                 "no method given; choose from gmask, imask", id="pair-methods-comma"),
    pytest.param({"model": PAIR_MODEL, "text": QUESTION_A, "text_b": QUESTION_B, "methods": "lime",
                  "n_samples": "3"}, ExplainError, "LIME needs at least 10", id="pair-lime-3-samples"),
    pytest.param({"model": PAIR_MODEL, "text": QUESTION_A, "text_b": "", "methods": "zero"}, ExplainError,
                 "The second text is empty", id="pair-empty-second-text"),
]


@pytest.mark.parametrize("options, error, message", CLI_CASES)
def test_cli_refuses_with_exit_status_2_and_the_message(options, error, message, capsys):
    argv = cli_args(**options)
    with pytest.raises(Exception) as info:
        main(argv)
    assert_refused(info, error, message)
    capsys.readouterr()
    assert run_cli(main, argv) == 2
    out = capsys.readouterr()
    assert out.err.startswith("error: ") and message in out.err and "Traceback" not in out.err
    assert out.out == ""


def test_cli_table_notes_a_truncated_text(capsys):
    assert run_cli(main, cli_args(text=LONG_TEXT)) == 0
    table = capsys.readouterr().out
    assert "note: the text was truncated to 50 of its 90 words" in table
    assert "words from word 51 ('film') on were not read" in table
    assert run_cli(main, cli_args()) == 0
    assert "note:" not in capsys.readouterr().out           # a text within the limit gets no note


def test_cli_pair_table_notes_which_text_was_truncated(capsys):
    long_question = " ".join(["what city is the largest"] * 10)   # 50 words; the pair model reads 40 a text
    argv = cli_args(model=PAIR_MODEL, text=long_question, text_b=QUESTION_B)
    assert run_cli(main, argv) == 0
    table = capsys.readouterr().out
    assert "note: text A was truncated to 40 of its 50 words" in table and "text B" not in table


# --------------------------------------------------------------------------- (b) core.explain.explain()


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, device="cpu")


@pytest.fixture(scope="module")
def pair_model():
    return load_model(PAIR_MODEL, device="cpu")


API_CASES = [
    pytest.param({"methods": []}, "no method given; choose from zero, unk, marginal", id="no-method"),
    pytest.param({"methods": ()}, "no method given; choose from", id="no-method-tuple"),
    pytest.param({"methods": ["zero", "magic"]}, "unknown explainer 'magic'; choose one of zero", id="unknown-method"),
    pytest.param({"text": ""}, "The text is empty", id="empty-text"),
    pytest.param({"text": None}, "The text is empty", id="text-none"),
    pytest.param({"text": "!! , ?"}, "only punctuation", id="punctuation-only"),
    pytest.param({"text": "... ;;; -- @#"}, "no words after cleaning", id="symbols-only"),
    pytest.param({"text": "qqzx wwzq"}, "None of the words is in the vocabulary", id="no-known-word"),
    pytest.param({"target": 2}, "target must be a class index in 0..1 (negative, positive), got 2", id="target-2"),
    pytest.param({"target": "positive"}, "target must be a class index", id="target-by-name"),
    pytest.param({"sigmaa": 0.1}, "no explainer takes sigmaa", id="parameter-typo"),
    pytest.param({"zero": 3}, "parameters for zero must be a dict, got int", id="method-params-not-dict"),
    pytest.param({"measure": "odds"}, "measure must be one of woe, probability, got 'odds'", id="bad-measure"),
    pytest.param({"methods": ["lime"], "n_samples": 1}, "lime: n_samples=1 is too few; LIME needs at least 10",
                 id="lime-1-sample"),
    pytest.param({"methods": ["lime"], "n_samples": 9}, "LIME needs at least 10", id="lime-9-samples"),
    pytest.param({"methods": ["lime"], "n_samples": 0}, "lime: n_samples must be a positive integer", id="lime-0"),
    pytest.param({"methods": ["lime"], "n_samples": 50.0}, "lime: n_samples must be a positive integer, got 50.0",
                 id="lime-float"),
    pytest.param({"methods": ["lime"], "lime": {"n_samples": 50}, "text": LONG_TEXT},
                 "n_samples=50 is too few for 50 words", id="lime-as-many-samples-as-words"),
    pytest.param({"methods": ["lime"], "baseline": "mean"}, "baseline must be one of zero, unk", id="lime-baseline"),
    pytest.param({"methods": ["shapley"], "n_samples": 0}, "shapley: n_permutations (n_samples) must be a positive",
                 id="shapley-0"),
    pytest.param({"methods": ["shapley"], "shapley": {"n_permutations": -2}}, "must be a positive integer, got -2",
                 id="shapley-negative"),
    pytest.param({"methods": ["shapley"], "n_samples": True}, "must be a positive integer, got True",
                 id="shapley-bool"),
    pytest.param({"methods": ["marginal"], "sigma": 1.0, "likelihood": "uniform"}, "sigma must be in [0, 1)",
                 id="sigma-1"),
    pytest.param({"methods": ["marginal"], "sigma": -0.1, "likelihood": "uniform"}, "sigma must be in [0, 1)",
                 id="sigma-negative"),
]


@pytest.fixture(scope="module")
def uniform():
    from core.lm.mlm import load_likelihood

    return load_likelihood("uniform", dataset="movie-snippets")


@pytest.mark.parametrize("changes, message", API_CASES)
def test_explain_api_refuses_with_an_explain_error(model, uniform, changes, message):
    kwargs = {"text": TEXT, "methods": ["zero"], **changes}
    if kwargs.get("likelihood") == "uniform":
        kwargs["likelihood"] = uniform
    text = kwargs.pop("text")
    with pytest.raises(Exception) as info:
        explain(model, text, **kwargs)
    assert_refused(info, ExplainError, message)


PAIR_API_CASES = [
    pytest.param("pair-model-in-explain", "is a sentence-pair model: explain two texts with", id="pair-in-explain"),
    pytest.param("single-model-in-explain-pair", "reads one text; give a sentence-pair model", id="single-in-pair"),
    pytest.param("no-method", "no method given; choose from gmask, imask, zero, lime, shapley", id="pair-no-method"),
    pytest.param("lime-5", "LIME needs at least 10", id="pair-lime-5"),
    pytest.param("lime-fewer-than-words", "n_samples=12 is too few for 12 words", id="pair-lime-fewer-than-words"),
    pytest.param("shapley-0", "shapley: n_permutations (n_samples) must be a positive integer", id="pair-shapley-0"),
]


@pytest.mark.parametrize("case, message", PAIR_API_CASES)
def test_pair_api_refuses_with_an_explain_error(model, pair_model, case, message):
    calls = {
        "pair-model-in-explain": lambda: explain(pair_model, QUESTION_A, methods=["zero"]),
        "single-model-in-explain-pair": lambda: explain_pair(model, QUESTION_A, QUESTION_B, methods=["zero"]),
        "no-method": lambda: explain_pair(pair_model, QUESTION_A, QUESTION_B, methods=[]),
        "lime-5": lambda: explain_pair(pair_model, QUESTION_A, QUESTION_B, methods=["lime"], n_samples=5),
        "lime-fewer-than-words": lambda: explain_pair(pair_model, QUESTION_A, QUESTION_B, methods=["lime"],
                                                      lime={"n_samples": 12}),   # 8 + 4 words
        "shapley-0": lambda: explain_pair(pair_model, QUESTION_A, QUESTION_B, methods=["shapley"], n_samples=0),
    }
    with pytest.raises(Exception) as info:
        calls[case]()
    assert_refused(info, ExplainError, message)


# --------------------------------------------------------------------------- (c) CSV uploads


def csv_bytes(rows: list[tuple], header: tuple = ("text", "label")) -> bytes:
    """UTF-8 CSV bytes of ``header`` and ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


GOOD = [(f"a truly great film number {i}", "pos") for i in range(6)] + \
       [(f"a really awful film number {i}", "neg") for i in range(6)]        # 12 valid rows: data rows 2..13


def with_label(value: str) -> bytes:
    """The valid rows plus two rows labelled ``value`` (rows 14 and 15, counting the header as row 1)."""
    return csv_bytes(GOOD + [("a film nobody labelled", value), ("another unlabelled film", value)])


CSV_CASES = [
    *(pytest.param(with_label(value), f"2 rows have a missing 'label' (first at row 14, counting the header as row 1: "
                   f"{value!r})", id=f"label-{value}")
      for value in ("NaN", "nan", "NAN", "null", "NULL", "None", "none", "NA", "na", "n/a", "N/A", "<NA>")),
    pytest.param(csv_bytes(GOOD + [("one unlabelled film", " nan ")]), "1 row has a missing 'label' (first at row 14",
                 id="label-nan-with-spaces"),
    pytest.param(with_label(""), "2 rows have an empty 'label' (first at row 14", id="label-blank"),
    pytest.param(csv_bytes([(t, lab, lab) for t, lab in GOOD], header=("text", "label", "label")),
                 "the header names a column more than once: 'label' (columns 2, 3)", id="duplicate-label-column"),
    pytest.param(csv_bytes([(t, t, lab) for t, lab in GOOD], header=("text", "text", "label")),
                 "the header names a column more than once: 'text' (columns 1, 2)", id="duplicate-text-column"),
    pytest.param(csv_bytes([(t, lab, "x", "y") for t, lab in GOOD], header=("text", "label", "note", "note")),
                 "'note' (columns 3, 4)", id="duplicate-unread-column"),
    pytest.param(csv_bytes([(t, lab, "train") for t, lab in GOOD], header=(" text", "label", "text ")),
                 "'text' (columns 1, 3)", id="duplicate-after-stripping"),
    pytest.param(b"", "is empty (0 bytes)", id="empty-file"),
    pytest.param(b" \n\n", "is empty (only whitespace)", id="whitespace-file"),
    pytest.param(b"text,label\n", "has a header (text, label) but no data rows", id="header-only"),
    pytest.param("text,label\ncaf\xe9,pos\n".encode("latin-1"), "is not UTF-8 text: byte 0xe9 at line 2",
                 id="not-utf8"),
    pytest.param(b"text,label\x00\nnice,pos\n", "contains NUL bytes", id="nul-bytes"),
    pytest.param(b"text,label\n\"unterminated,pos\nmore,neg\n", "cannot be parsed as CSV", id="open-quote"),
    pytest.param(b"text,label\ngood film,pos,extra\n", "row 2 has 3 fields but the header has 2", id="ragged-row"),
    pytest.param(csv_bytes(GOOD, header=("review", "label")), "has no column 'text'; columns found: 'review', 'label'",
                 id="missing-text-column"),
    pytest.param(csv_bytes(GOOD, header=("text", "sentiment")), "has no column 'label'", id="missing-label-column"),
    pytest.param(csv_bytes([("@@", "pos"), ("#", "neg")]), "no row of column 'text' contains any words",
                 id="no-words"),
    pytest.param(csv_bytes([(f"good film {i}", "pos") for i in range(12)]), "has only one class ('pos')",
                 id="one-class"),
    pytest.param(csv_bytes(GOOD[:2] + GOOD[-2:]), "too few rows: 4 usable", id="too-few-rows"),
    pytest.param(csv_bytes(GOOD + [("a neutral film", "meh")]), "class(es) 'meh' have fewer than 2 examples",
                 id="tiny-class"),
    pytest.param(csv_bytes([(t, lab, "validation") for t, lab in GOOD], header=("text", "label", "split")),
                 "column 'split' has values ['validation']", id="bad-split-value"),
]


@pytest.mark.parametrize("data, message", CSV_CASES)
def test_user_csv_refuses_with_a_dataset_error(data, message):
    with pytest.raises(Exception) as info:
        load_user_csv(io.BytesIO(data))
    assert_refused(info, DatasetError, message)


@pytest.mark.parametrize("settings, message", [
    pytest.param({"dev_fraction": 0}, "dev_fraction must be between 0 and 1", id="dev-fraction-0"),
    pytest.param({"dev_fraction": 0.5, "test_fraction": 0.5}, "must be below 1", id="fractions-sum-1"),
    pytest.param({"max_len": 0}, "max_len must be a positive integer", id="max-len-0"),
    pytest.param({"min_freq": 0}, "min_freq must be a positive integer", id="min-freq-0"),
])
def test_user_csv_refuses_bad_settings(settings, message):
    with pytest.raises(Exception) as info:
        load_user_csv(io.BytesIO(csv_bytes(GOOD)), **settings)
    assert_refused(info, DatasetError, message)


def test_user_csv_refuses_a_missing_file_and_a_text_stream(tmp_path):
    with pytest.raises(Exception) as info:
        load_user_csv(tmp_path / "nope.csv")
    assert_refused(info, DatasetError, "does not exist")
    with pytest.raises(Exception) as info:
        load_user_csv(io.StringIO("text,label\n"))
    assert_refused(info, DatasetError, "expected a binary file object, got text")


def test_pair_csv_refuses_a_duplicated_column():
    rows = [(f"what is {i}", f"who is {i}", "same" if i % 2 else "different", "x") for i in range(12)]
    with pytest.raises(Exception) as info:
        load_pair_csv(io.BytesIO(csv_bytes(rows, header=("text_a", "text_b", "label", "text_b"))))
    assert_refused(info, DatasetError, "the header names a column more than once: 'text_b' (columns 2, 4)")


# --- checkpoint loading cases (added by the lead)


def test_pair_csv_refuses_missing_value_labels():
    rows = [(f"what is {i}", f"who is {i}", "NaN" if i == 3 else ("same" if i % 2 else "different")) for i in range(12)]
    with pytest.raises(Exception) as info:
        load_pair_csv(io.BytesIO(csv_bytes(rows, header=("text_a", "text_b", "label"))))
    assert_refused(info, DatasetError, "missing 'label'")


CHECKPOINT_CASES = {
    "no-config": (lambda d: None, "checkpoint config not found"),
    "not-json": (lambda d: (d / "config.json").write_text("{oops"), "not valid JSON"),
    "deeply-nested": (lambda d: (d / "config.json").write_text("[" * 100000 + "]" * 100000), "nested too deeply"),
    "wrong-format": (lambda d: (d / "config.json").write_text('{"format": "other"}'), "not a MaskLens checkpoint"),
    "label-names-number": (lambda d: _patch_config(d, label_names=5), "'label_names' must be a list"),
    "metrics-list": (lambda d: _patch_config(d, metrics=[]), "'metrics' must be an object"),
    "missing-key": (lambda d: _patch_config(d, architecture=None), "checkpoint config lacks architecture"),
    "truncated-weights": (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 10), "truncated, corrupt"),
    "unknown-mask-kind": (lambda d: _patch_config(d, mask_config={"kind": "zzz"}), "unknown mask kind"),
}


def _patch_config(directory, **fields):
    import json

    config = json.loads((directory / "config.json").read_text())
    for key, value in fields.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    (directory / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("case", sorted(CHECKPOINT_CASES))
def test_checkpoint_loading_refuses_bad_files(case, tmp_path):
    import shutil

    from core.checkpoints import CheckpointError
    from core.models import load_model
    from core.paths import SHIPPED_CHECKPOINTS_DIR

    directory = tmp_path / "ckpt"
    shutil.copytree(SHIPPED_CHECKPOINTS_DIR / "cnn-base-trec6", directory)
    if case == "no-config":
        (directory / "config.json").unlink()
    corrupt, message = CHECKPOINT_CASES[case]
    corrupt(directory)
    with pytest.raises(Exception) as info:
        load_model(str(directory), device="cpu")
    assert_refused(info, CheckpointError, message)
    assert str(directory) in str(info.value)
