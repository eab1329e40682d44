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


# The loop from the issue: the embedded model listing sights, then repeating one phrase pattern with
# different words inside until the section was a third loop.
SIGHTS = (
    "Lisbon rewards a slow first visit. Start in Belém, where the river meets the sea, "
    "and walk up through the old streets of Alfama before the day gets hot. The city has many landmarks, "
)
PATTERN_ROUNDS = [
    'known as the "Torre de Belém" (Portugal), ',
    'known as the "Mosteiro dos Jerónimos" (Portugal), ',
    'known as the "Castelo de São Jorge" (Portugal), ',
    'known as the "Praça do Comércio" (Portugal), ',
    'known as the "Elevador de Santa Justa" (Portugal), ',
    'known as the "Sé de Lisboa" (Portugal), ',
]


def test_find_loop_catches_a_phrase_pattern_by_its_third_repetition() -> None:
    text = SIGHTS + "".join(PATTERN_ROUNDS[:4])  # the pattern once and three repetitions
    offset = find_loop(text)
    assert offset is not None
    assert text[:offset] == SIGHTS + PATTERN_ROUNDS[0]  # one round kept
    assert find_loop(SIGHTS + "".join(PATTERN_ROUNDS[:3])) is None  # a list of three is not yet a loop


def test_find_loop_leaves_varied_prose_and_a_rhetorical_triple_alone() -> None:
    prose = (
        "We will walk the hills at dawn, we will ride the old tram to the castle, and we will eat grilled "
        "sardines by the river. Each district has its own character: Alfama keeps its medieval lanes, Baixa "
        "was rebuilt on a grid after the earthquake of 1755, and Chiado gathers the theatres and bookshops. "
        "The trams are crowded in summer, so buy a card and travel early; the museums open at ten and the "
        "viewpoints are best at sunset, when the light turns the roofs orange and the river silver."
    )
    assert find_loop(prose) is None


def test_a_cut_never_trails_off_in_an_ellipsis() -> None:
    assert cut_at_sentence("Fado is sung in small bars. The singers are known as the …") == (
        "Fado is sung in small bars."
    )
    assert cut_at_sentence("The best views are from the castle... and the river", max_words=7) == (
        "The best views are from the castle"
    )
    assert cut_at_sentence("A list of sights, known as the, ") == "A list of sights, known as the"
