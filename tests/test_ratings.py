"""Ratings against values worked out by hand: online Elo, Bradley–Terry (ties as half a win), bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from longwriter.ratings import Battle, bootstrap, bradley_terry, leaderboard, online_elo


def expected(r_a: float, r_b: float) -> float:
    return 1 / (1 + 10 ** ((r_b - r_a) / 400))


def test_online_elo_by_hand() -> None:
    battles = [Battle("A", "B", "a"), Battle("B", "C", "tie"), Battle("C", "A", "a"), Battle("A", "B", "both_bad")]
    # 1. A beats B from 1000 each: expected ½, so ±4·½ = ±2.
    a, b, c = 1002.0, 998.0, 1000.0
    # 2. B (998) ties C (1000): B gains 4·(½ − E_B), C loses the same.
    e_b = expected(b, c)
    b, c = b + 4 * (0.5 - e_b), c - 4 * (0.5 - e_b)
    # 3. C beats A.
    e_c = expected(c, a)
    c, a = c + 4 * (1 - e_c), a - 4 * (1 - e_c)
    # 4. "both bad" counts as a tie (as in FastChat).
    e_a = expected(a, b)
    a, b = a + 4 * (0.5 - e_a), b - 4 * (0.5 - e_a)
    ratings = online_elo(battles)
    assert ratings == pytest.approx({"A": a, "B": b, "C": c}, abs=1e-9)
    assert ratings["A"] == pytest.approx(999.977, abs=1e-3)  # the numbers themselves, worked on paper
    assert ratings["B"] == pytest.approx(998.023, abs=1e-3)
    assert ratings["C"] == pytest.approx(1002.000, abs=1e-3)
    assert sum(ratings.values()) == pytest.approx(3000)  # Elo is zero-sum


def test_online_elo_depends_on_the_order() -> None:
    forward = online_elo([Battle("A", "B", "a"), Battle("A", "B", "b")])
    backward = online_elo([Battle("A", "B", "b"), Battle("A", "B", "a")])
    assert forward["A"] < 1000 < backward["A"]  # the later result weighs more


FIXED = (
    # A vs B: 2 wins and 2 ties for A = 3 points of 4.
    [Battle("A", "B", "a")] * 2
    + [Battle("B", "A", "tie")] * 2
    # B vs C: 3 points of 4 for B, sides mixed.
    + [Battle("B", "C", "a")] * 2
    + [Battle("C", "B", "b")]
    + [Battle("C", "B", "a")]
    # A vs C: 9 points of 10 for A (8 wins, 2 "both bad" = ties).
    + [Battle("A", "C", "a")] * 4
    + [Battle("C", "A", "b")] * 4
    + [Battle("C", "A", "both_bad")] * 2
)


def test_bradley_terry_on_a_fixed_set_with_ties() -> None:
    # Odds 3:1, 3:1 and 9:1 are consistent (3·3 = 9), so ratings that reproduce every observed
    # share exist; they satisfy the likelihood equations and are the unique maximum: steps of
    # 400·log10(3) = 190.85 around a mean of 1000.
    step = 400 * math.log10(3)
    exact = bradley_terry(FIXED, l2=0.0)
    assert exact == pytest.approx({"A": 1000 + step, "B": 1000.0, "C": 1000 - step}, abs=1e-6)
    assert step == pytest.approx(190.849, abs=1e-3)
    # The default tiny ridge moves ordinary ratings by far less than a point.
    assert bradley_terry(FIXED) == pytest.approx(exact, abs=0.05)


def test_bradley_terry_two_configurations_and_order_invariance() -> None:
    battles = [Battle("x", "y", "a")] * 3 + [Battle("x", "y", "b")]
    ratings = bradley_terry(battles, l2=0.0)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert ratings["x"] + ratings["y"] == pytest.approx(2000)
    assert bradley_terry(list(reversed(battles)), l2=0.0) == pytest.approx(ratings)
    assert bradley_terry([Battle("x", "y", "tie")] * 5) == pytest.approx({"x": 1000.0, "y": 1000.0})


def test_a_clean_sweep_stays_finite() -> None:
    ratings = bradley_terry([Battle("x", "y", "a")] * 3)
    assert 1000 < ratings["x"] < 2500 and ratings["y"] == pytest.approx(2000 - ratings["x"])


def test_bootstrap_and_leaderboard_shape() -> None:
    rows = leaderboard(FIXED, rounds=100, seed=0)
    assert [row.config for row in rows] == ["A", "B", "C"]
    for row in rows:
        assert row.lower <= row.rating <= row.upper
        assert row.upper - row.lower > 0  # 24 battles leave real uncertainty
    by_name = {row.config: row for row in rows}
    assert (by_name["A"].wins, by_name["A"].ties, by_name["A"].losses) == (10, 4, 0)
    assert (by_name["B"].wins, by_name["B"].ties, by_name["B"].losses) == (3, 2, 3)
    assert by_name["B"].battles == 8 and by_name["A"].win_rate == pytest.approx(12 / 14)
    assert by_name["A"].rating == pytest.approx(bradley_terry(FIXED)["A"])
    assert by_name["A"].elo == pytest.approx(online_elo(FIXED)["A"])
    # Reproducible: the same seed gives the same intervals; resamples keep the mean at 1000.
    again = leaderboard(FIXED, rounds=100, seed=0)
    assert [(r.lower, r.upper) for r in again] == [(r.lower, r.upper) for r in rows]
    samples = bootstrap(FIXED, rounds=20, seed=1)
    assert set(samples) == {"A", "B", "C"} and all(len(v) == 20 for v in samples.values())
    assert np.allclose(samples["A"] + samples["B"] + samples["C"], 3000)


def test_intervals_narrow_with_more_votes() -> None:
    few = {r.config: r for r in leaderboard(FIXED, rounds=100)}
    many = {r.config: r for r in leaderboard(FIXED * 10, rounds=100)}
    for name in ("A", "B", "C"):
        assert many[name].upper - many[name].lower < few[name].upper - few[name].lower
        assert many[name].lower <= many[name].rating <= many[name].upper


def test_empty_and_invalid_input() -> None:
    assert leaderboard([]) == [] and bradley_terry([]) == {} and online_elo([]) == {}
    with pytest.raises(ValueError):
        bradley_terry([Battle("x", "x", "a")])
    with pytest.raises(ValueError):
        online_elo([Battle("x", "y", "left")])  # type: ignore[arg-type]


def test_one_vote_says_too_few_battles_instead_of_a_zero_width_interval() -> None:
    rows = leaderboard([Battle("x", "y", "a")])
    # The fit alone would claim certainty: both resampled ratings never move.
    assert all(row.upper - row.lower < 1 for row in rows)
    assert [(row.settled, row.interval) for row in rows] == [(False, "too few battles (1 of 10)")] * 2


def test_enough_mixed_battles_give_a_numeric_interval() -> None:
    by_name = {r.config: r for r in leaderboard(FIXED, rounds=100, seed=0)}
    b = by_name["B"]  # 8 battles: below the threshold
    assert not b.settled and b.interval == "too few battles (8 of 10)"
    c = by_name["C"]  # 14 battles: 1 win, 2 ties, 11 losses, a real and finite record
    assert c.settled and c.interval == f"{c.lower:.0f} – {c.upper:.0f}" and c.upper > c.lower
    sweep = {r.config: r for r in leaderboard([Battle("x", "y", "a")] * 12)}
    assert sweep["x"].interval == "won all 12: no upper bound yet" and not sweep["x"].settled
    assert sweep["y"].interval == "lost all 12: no lower bound yet"
