"""Ratings of configurations from arena votes: online Elo and Bradley–Terry with bootstrap intervals.

The same two numbers Chatbot Arena (lm-sys/FastChat) publishes, with its constants:

* **Online Elo** goes through the battles in the order they were voted: each configuration starts
  at 1000 and after every battle moves by ``K·(score − expected)``, K = 4, with the expected score
  ``1 / (1 + 10^((R_other − R)/400))``. It depends on the order of the votes; it is shown because
  it is the familiar number.
* **Bradley–Terry** is the order-free maximum-likelihood fit of the same model: P(i beats j) =
  ``1 / (1 + 10^((R_j − R_i)/400))``. Ties (and "both bad", which FastChat counts as a tie) are
  half a win for each side. FastChat fits it as a logistic regression with L-BFGS; the likelihood
  is concave with one maximum, so this module finds the same point by Newton's method in numpy
  (a handful of iterations; no scipy needed). Ratings are centred on 1000 (their mean), i.e.
  ``400·coefficient + 1000``.
* **95% intervals** come from ~100 bootstrap resamples of the battles (FastChat's multinomial
  resampling of the distinct (pair, outcome) counts, with a fixed seed so the table does not
  flicker), as the 2.5th and 97.5th percentiles of each configuration's refitted rating.

When one configuration won every battle it played, the exact maximum likelihood is at infinity;
a tiny ridge penalty (``l2``) keeps the fit finite (about ±800 points from the rest) and changes
ratings on ordinary data by far less than a point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Winner = Literal["a", "b", "tie", "both_bad"]
K_FACTOR = 4.0
BASE = 10.0
SCALE = 400.0
INITIAL = 1000.0
L2 = 1e-4
"""Ridge penalty on the coefficients (rating/400): only matters when a configuration never lost."""
MIN_BATTLES = 10
"""Battles a configuration needs before its interval is shown: resampling fewer votes gives an
interval of almost no width (one vote: "1811 – 1811") that claims a certainty nobody has."""


@dataclass(frozen=True)
class Battle:
    """One rated comparison: configuration ``a`` against ``b`` and who the voter preferred."""

    a: str
    b: str
    winner: Winner

    @property
    def score_a(self) -> float:
        """A's score: 1 for a win, 0 for a loss, ½ for a tie or "both bad"."""
        return {"a": 1.0, "b": 0.0}.get(self.winner, 0.5)


@dataclass(frozen=True)
class Rating:
    """One leaderboard row."""

    config: str
    rating: float
    """Bradley–Terry rating (order-free; the leaderboard is sorted by it)."""
    lower: float
    upper: float
    """Bootstrap 95% interval of ``rating``; always ``lower <= rating <= upper``."""
    elo: float
    """Online Elo after all battles in vote order."""
    battles: int
    wins: int
    ties: int
    losses: int
    settled: bool = True
    """Whether ``lower``–``upper`` means something: at least :data:`MIN_BATTLES` battles, some won
    and some not. Otherwise the rating is a guess and the page should say so (see ``interval``)."""
    interval: str = ""
    """The interval as the page and reports show it: "1740 – 1880", or why there is none yet."""

    @property
    def win_rate(self) -> float:
        """Share of points won, ties counting half."""
        return (self.wins + 0.5 * self.ties) / self.battles if self.battles else 0.0


def _check(battles: Sequence[Battle]) -> None:
    for battle in battles:
        if battle.a == battle.b:
            raise ValueError(f"A configuration cannot battle itself: {battle.a!r}")
        if battle.winner not in ("a", "b", "tie", "both_bad"):
            raise ValueError(f"Unknown outcome {battle.winner!r}")


def online_elo(
    battles: Iterable[Battle], k: float = K_FACTOR, base: float = BASE, scale: float = SCALE, initial: float = INITIAL
) -> dict[str, float]:
    """Elo ratings after playing ``battles`` in order (oldest first)."""
    battles = list(battles)
    _check(battles)
    ratings: dict[str, float] = {}
    for battle in battles:
        ra = ratings.setdefault(battle.a, initial)
        rb = ratings.setdefault(battle.b, initial)
        expected_a = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        expected_b = 1.0 / (1.0 + base ** ((ra - rb) / scale))
        score_a = battle.score_a
        ratings[battle.a] = ra + k * (score_a - expected_a)
        ratings[battle.b] = rb + k * ((1.0 - score_a) - expected_b)
    return ratings


def _tables(battles: Sequence[Battle]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Configurations, the distinct (i, j, score of i) rows, and how often each occurred."""
    names = sorted({b.a for b in battles} | {b.b for b in battles})
    index = {name: i for i, name in enumerate(names)}
    counts: dict[tuple[int, int, float], int] = {}
    for b in battles:
        key = (index[b.a], index[b.b], b.score_a)
        counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts)
    pairs = np.array([(i, j) for i, j, _ in keys], dtype=np.int64).reshape(-1, 2)
    scores = np.array([s for _, _, s in keys], dtype=np.float64)
    weights = np.array([counts[key] for key in keys], dtype=np.float64)
    return names, pairs, scores, weights


def _fit(n: int, pairs: np.ndarray, scores: np.ndarray, weights: np.ndarray, alpha: float, l2: float) -> np.ndarray:
    """Coefficients c maximising Σ w·[s·log σ(α(c_i−c_j)) + (1−s)·log σ(α(c_j−c_i))] − l2/2·|c|²."""
    coef = np.zeros(n)
    if len(pairs) == 0:
        return coef
    i, j = pairs[:, 0], pairs[:, 1]

    def objective(c: np.ndarray) -> float:
        z = alpha * (c[i] - c[j])
        # −log σ(z) = log(1 + e^{−z}), computed stably with logaddexp
        nll = weights * (scores * np.logaddexp(0.0, -z) + (1.0 - scores) * np.logaddexp(0.0, z))
        return float(nll.sum() + 0.5 * l2 * c @ c)

    value = objective(coef)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-alpha * (coef[i] - coef[j])))
        residual = alpha * weights * (scores - p)  # d log-likelihood / d(c_i), and minus that for c_j
        grad = l2 * coef
        np.add.at(grad, i, -residual)
        np.add.at(grad, j, residual)
        curvature = alpha * alpha * weights * p * (1.0 - p)
        hessian = l2 * np.eye(n)
        np.add.at(hessian, (i, i), curvature)
        np.add.at(hessian, (j, j), curvature)
        np.add.at(hessian, (i, j), -curvature)
        np.add.at(hessian, (j, i), -curvature)
        # the likelihood does not change when every rating moves together: solve in the least-squares
        # sense (pseudo-inverse) and keep the mean at zero, as L-BFGS started from zero does
        step = np.linalg.lstsq(hessian, -grad, rcond=None)[0]
        step -= step.mean() if l2 == 0 else 0.0
        size = 1.0
        while True:  # backtracking keeps each step an improvement, even far from the optimum
            candidate = coef + size * step
            new_value = objective(candidate)
            if new_value <= value + 1e-12 or size < 1e-6:
                break
            size *= 0.5
        coef, value = candidate, new_value
        if np.max(np.abs(size * step)) < 1e-10:
            break
    return coef


def bradley_terry(
    battles: Iterable[Battle],
    base: float = BASE,
    scale: float = SCALE,
    initial: float = INITIAL,
    l2: float = L2,
) -> dict[str, float]:
    """Maximum-likelihood Bradley–Terry ratings (ties as half a win), mean ``initial``."""
    battles = list(battles)
    _check(battles)
    if not battles:
        return {}
    names, pairs, scores, weights = _tables(battles)
    coef = _fit(len(names), pairs, scores, weights, math.log(base), l2)
    coef -= coef.mean()
    return {name: float(initial + scale * c) for name, c in zip(names, coef, strict=True)}


def bootstrap(
    battles: Iterable[Battle],
    rounds: int = 100,
    seed: int = 0,
    base: float = BASE,
    scale: float = SCALE,
    initial: float = INITIAL,
    l2: float = L2,
) -> dict[str, np.ndarray]:
    """Each configuration's Bradley–Terry rating in ``rounds`` resamples of the battles (with replacement)."""
    battles = list(battles)
    _check(battles)
    if not battles:
        return {}
    names, pairs, scores, weights = _tables(battles)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(battles), weights / weights.sum(), size=rounds).astype(np.float64)
    samples = np.empty((rounds, len(names)))
    for r in range(rounds):
        coef = _fit(len(names), pairs, scores, draws[r], math.log(base), l2)
        samples[r] = initial + scale * (coef - coef.mean())
    return {name: samples[:, k] for k, name in enumerate(names)}


def leaderboard(
    battles: Iterable[Battle],
    rounds: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
    l2: float = L2,
    min_battles: int = MIN_BATTLES,
) -> list[Rating]:
    """One row per configuration, best first: Bradley–Terry rating with its interval, Elo, record.

    The interval is the bootstrap percentile interval, widened if needed to contain the rating
    itself (with few votes a resampled fit can sit entirely on one side of the full-data fit).
    Below ``min_battles`` battles, or when a configuration won (or lost) every battle it played,
    resampling cannot show how uncertain the rating is, so the row is not ``settled`` and its
    ``interval`` says why instead of giving numbers (see :func:`unsettled`).
    """
    battles = list(battles)
    _check(battles)
    if not battles:
        return []
    bt = bradley_terry(battles, l2=l2)
    elo = online_elo(battles)
    samples = bootstrap(battles, rounds=rounds, seed=seed, l2=l2)
    tail = 100.0 * (1.0 - confidence) / 2.0
    record = {name: [0, 0, 0] for name in bt}  # wins, ties, losses
    for b in battles:
        if b.winner in ("tie", "both_bad"):
            record[b.a][1] += 1
            record[b.b][1] += 1
        else:
            winner, loser = (b.a, b.b) if b.winner == "a" else (b.b, b.a)
            record[winner][0] += 1
            record[loser][2] += 1
    rows = []
    for name, rating in bt.items():
        low, high = np.percentile(samples[name], [tail, 100.0 - tail])
        wins, ties, losses = record[name]
        lower, upper = min(float(low), rating), max(float(high), rating)
        reason = unsettled(wins, ties, losses, min_battles)
        rows.append(
            Rating(
                config=name,
                rating=rating,
                lower=lower,
                upper=upper,
                elo=elo[name],
                battles=wins + ties + losses,
                wins=wins,
                ties=ties,
                losses=losses,
                settled=reason is None,
                interval=reason or f"{lower:.0f} – {upper:.0f}",
            )
        )
    rows.sort(key=lambda row: (-row.rating, row.config))
    return rows


def unsettled(wins: int, ties: int, losses: int, min_battles: int = MIN_BATTLES) -> str | None:
    """Why a record's rating interval means nothing yet, or None when it does."""
    battles = wins + ties + losses
    if battles < min_battles:
        return f"too few battles ({battles} of {min_battles})"
    if wins == battles:
        return f"won all {battles}: no upper bound yet"
    if losses == battles:
        return f"lost all {battles}: no lower bound yet"
    return None
