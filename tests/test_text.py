"""Text metrics against hand-computed values (LongBench-Write's rules, quirks included)."""

from __future__ import annotations

import pytest

from longwriter.text import (
    count_words,
    cut_at_sentence,
    distinct_ngram_ratio,
    find_loop,
    length_score,
    repeated_ngram_fraction,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world", 2),
        ("don't stop", 3),  # the apostrophe splits "don't" into two matches
        ("abc123 def", 1),  # no word boundary between "c" and "1": only "def" counts
        ("café au lait", 2),  # "é" is a word character, so "caf" has no boundary: au, lait
        ("1,000 words", 1),  # digits never count
        ("我爱北京", 4),  # each CJK ideograph counts one
        ("我爱Python编程", 4),  # "Python" touches ideographs (word characters): not matched
        ("我爱 Python 编程", 5),
        ("", 0),
    ],
)
def test_count_words_follows_longbench_write(text: str, expected: int) -> None:
    assert count_words(text) == expected


@pytest.mark.parametrize(
    ("required", "actual", "expected"),
    [
        (1000, 1000, 100.0),
        (1000, 2000, 100 * (1 - 1 / 3)),  # 2x over
        (1000, 4000, 0.0),  # 4x over is the floor
        (1000, 500, 50.0),  # half: 1 - (2 - 1) / 2
        (1000, 1300, 90.0),
        (300, 250, 90.0),  # 1 - (1.2 - 1) / 2
        (1000, 333, 0.0),  # under a third is the floor
        (1000, 0, 0.0),
    ],
)
def test_length_score_matches_hand_computed(required: int, actual: int, expected: float) -> None:
    assert length_score(required, actual) == pytest.approx(expected)


def test_length_score_needs_a_positive_requirement() -> None:
    with pytest.raises(ValueError):
        length_score(0, 10)


def test_repetition_measures_separate_loops_from_prose() -> None:
    varied = "The river bends past the mill, where farmers once brought grain from the hills each autumn."
    looped = "we must act now and we must act together. " * 6
    assert repeated_ngram_fraction(varied) == 0.0
    assert repeated_ngram_fraction(looped) > 0.5
    assert distinct_ngram_ratio(varied) == 1.0
    assert distinct_ngram_ratio(looped) < 0.3


def test_find_loop_keeps_one_round() -> None:
    sentence = "The cat sat on the mat and looked around the room. "
    offset = find_loop("An opening line about cats. " + sentence * 5)
    assert offset is not None
    assert ("An opening line about cats. " + sentence * 5)[:offset] == "An opening line about cats. " + sentence
    assert find_loop("A short honest paragraph with no repetition at all in it, none whatsoever.") is None


def test_cut_at_sentence() -> None:
    assert cut_at_sentence("One two. Three four! Five six", max_words=5) == "One two. Three four!"
    assert cut_at_sentence("第一句。第二句。第三", max_words=5) == "第一句。"
    assert cut_at_sentence("第一句。第二句。第三", max_words=7) == "第一句。第二句。"
    assert cut_at_sentence("no sentence end here") == "no sentence end here"
