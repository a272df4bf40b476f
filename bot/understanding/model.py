"""A linear classifier over TF-IDF-weighted units: trained once, scored in pure Python.

Training uses scikit-learn's multinomial logistic regression (imported only then: the
knowledge base is compiled once and cached, see :mod:`bot.understanding.compiled`).
Scoring a message is a few dictionary look-ups and sums, with no numerical library.

Logistic regression gives probabilities that mean something across classes, which is
what the decision to answer, ask "did you mean", or say "not covered" needs: every
message is scored against every intent *and* against the explicit out-of-scope,
not-covered and small-talk classes, each learned from its own examples. A unit no example
has keeps a weight in the message's TF-IDF vector, so a message made mostly of unknown
words has little left for the units that point to an intent.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

UNKNOWN_IDF = 2.0
"""IDF of a unit no example has: rarer than most, so it weighs in the message's vector."""

REGULARISATION = 100.0
"""scikit-learn's C: little regularisation, the examples are curated (chosen on the project's
own labelled sets, never on the untouched ones)."""


def idf_of(bags: Sequence[Sequence[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of every unit of ``bags``."""
    frequency = Counter(unit for bag in bags for unit in set(bag))
    total = len(bags)
    return {unit: math.log((1 + total) / (1 + count)) + 1.0 for unit, count in frequency.items()}


def tfidf(units: Sequence[str], idf: Mapping[str, float]) -> dict[str, float]:
    """Sublinear TF-IDF of ``units``, scaled to unit length (empty when there are none)."""
    counts = Counter(units)
    vector = {unit: (1 + math.log(n)) * idf.get(unit, UNKNOWN_IDF) for unit, n in counts.items()}
    norm = math.sqrt(sum(weight * weight for weight in vector.values()))
    return {unit: weight / norm for unit, weight in vector.items()} if norm else {}


@dataclass(frozen=True)
class LinearModel:
    """Weights of a trained multinomial logistic regression, by unit.

    Each known unit has a row of one weight per class in ``weights``, a flat array of
    doubles (``index[unit]`` is the row), so that loading a model from the cache copies
    bytes rather than building hundreds of thousands of float objects.
    """

    classes: tuple[str, ...]
    idf: dict[str, float]
    index: dict[str, int]
    weights: array[float]
    bias: tuple[float, ...]

    @classmethod
    def train(
        cls,
        bags: Sequence[Sequence[str]],
        labels: Sequence[str],
        *,
        c: float = REGULARISATION,
        class_weight: str | dict[str, float] | None = "balanced",
    ) -> LinearModel:
        """Fit the model to ``bags`` of units labelled ``labels`` (loads scikit-learn).

        Classes are weighted by the inverse of their number of examples, so that the many
        examples of what the bot must decline do not make it decline by habit.
        """
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        idf = idf_of(bags)
        vectorizer = DictVectorizer()
        matrix = vectorizer.fit_transform([tfidf(bag, idf) for bag in bags])
        regression = LogisticRegression(C=c, max_iter=5000, class_weight=class_weight)
        regression.fit(matrix, list(labels))
        index = {str(unit): row for unit, row in vectorizer.vocabulary_.items()}
        weights = array("d", regression.coef_.T.ravel().tolist())
        classes = tuple(str(name) for name in regression.classes_)
        return cls(classes, idf, index, weights, tuple(float(b) for b in regression.intercept_))

    def probabilities(self, units: Sequence[str], allowed: Sequence[str] | None = None) -> dict[str, float]:
        """Probability of each class for a message with ``units`` (empty when none is known).

        ``allowed`` restricts the classes (the others are left out before normalising).
        """
        vector = tfidf(units, self.idf)
        rows = [(self.index[unit], value) for unit, value in vector.items() if unit in self.index]
        if not rows:
            return {}  # nothing the model knows: no evidence for any class, not the priors
        width = len(self.classes)
        logits = list(self.bias)
        for row, value in rows:
            start = row * width
            weights = self.weights[start : start + width]
            logits = [logit + value * weight for logit, weight in zip(logits, weights, strict=True)]
        scores = dict(zip(self.classes, logits, strict=True))
        if allowed is not None:
            scores = {name: scores[name] for name in allowed if name in scores}
        top = max(scores.values())
        exps = {name: math.exp(score - top) for name, score in scores.items()}
        total = sum(exps.values())
        return {name: value / total for name, value in exps.items()}
