"""How well sentence representations separate the gold classes (the t-SNE page's numbers).

All three numbers are computed in the original representation space (e.g. the
CNN's 300 pooled filter activations), not on the 2-D t-SNE coordinates, whose
distances t-SNE does not preserve:

- **mean intra-class distance**: the mean Euclidean distance ||x_i - x_j||
  over all unordered pairs i < j whose gold labels are equal (pooled over
  classes, so a larger class weighs more).
- **mean inter-class distance**: the same mean over all unordered pairs whose
  gold labels differ.
- **silhouette** (Rousseeuw 1987, ``sklearn.metrics.silhouette_score``,
  Euclidean): the mean over points of (b - a) / max(a, b), with a the mean
  distance to the other points of its class and b the mean distance to the
  points of the nearest other class; in [-1, 1], higher = less overlap.

"Less overlap" between classes shows as a higher inter/intra ratio and a
higher silhouette.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy.spatial.distance import pdist
from sklearn.metrics import silhouette_score


@dataclass(frozen=True)
class Separation:
    """Class-separation numbers of one set of representations (NaN where undefined).

    Attributes:
        intra: mean Euclidean distance between same-class pairs.
        inter: mean Euclidean distance between different-class pairs.
        ratio: ``inter / intra``.
        silhouette: mean silhouette coefficient in [-1, 1].
        n: number of points.
        n_classes: number of distinct labels among them.
    """

    intra: float
    inter: float
    ratio: float
    silhouette: float
    n: int
    n_classes: int

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN stays a float NaN)."""
        return asdict(self)


def _check(representations: np.ndarray, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    reps = np.asarray(representations, dtype=np.float64)
    labels = np.asarray(labels)
    if reps.ndim != 2:
        raise ValueError(f"representations must be a 2-D array [N, H], got shape {reps.shape}")
    if len(labels) != len(reps):
        raise ValueError(f"{len(reps)} representations but {len(labels)} labels")
    if not np.isfinite(reps).all():
        raise ValueError("representations contain NaN or infinite values")
    return reps, labels


def _pair_masks(labels: np.ndarray) -> np.ndarray:
    """[N(N-1)/2] bool in pdist's condensed order: True where the pair's labels are equal."""
    rows, cols = np.triu_indices(len(labels), k=1)
    return labels[rows] == labels[cols]


def mean_intra_class_distance(representations: np.ndarray, labels: Sequence[int]) -> float:
    """Mean Euclidean distance over unordered same-label pairs i < j; NaN when there is no such pair.

    Args:
        representations: [N, H] float.
        labels: [N] gold labels (any hashable values).
    """
    reps, labels = _check(representations, labels)
    distances, same = pdist(reps), _pair_masks(labels)
    return float(distances[same].mean()) if same.any() else float("nan")


def mean_inter_class_distance(representations: np.ndarray, labels: Sequence[int]) -> float:
    """Mean Euclidean distance over unordered different-label pairs i < j; NaN when there is no such pair."""
    reps, labels = _check(representations, labels)
    distances, same = pdist(reps), _pair_masks(labels)
    return float(distances[~same].mean()) if (~same).any() else float("nan")


def separation(representations: np.ndarray, labels: Sequence[int]) -> Separation:
    """Intra- and inter-class mean distances, their ratio and the silhouette score (see the module doc).

    Args:
        representations: [N, H] float, N >= 2.
        labels: [N] gold labels.

    Returns:
        A :class:`Separation`. The silhouette is NaN unless 2 <= classes <= N - 1 (sklearn's domain).

    Raises:
        ValueError: wrong shapes, fewer than 2 points, or non-finite values.
    """
    reps, labels = _check(representations, labels)
    if len(reps) < 2:
        raise ValueError("separation needs at least 2 points")
    distances, same = pdist(reps), _pair_masks(labels)
    intra = float(distances[same].mean()) if same.any() else float("nan")
    inter = float(distances[~same].mean()) if (~same).any() else float("nan")
    n_classes = len(np.unique(labels))
    silhouette = (float(silhouette_score(reps, labels, metric="euclidean"))
                  if 2 <= n_classes <= len(reps) - 1 else float("nan"))
    ratio = inter / intra if intra > 0 else float("nan")
    return Separation(intra, inter, ratio, silhouette, len(reps), n_classes)
