"""Text metrics: the single source of truth for words, length scores and repetition.

The UI meter, the writer's length control, the evaluator and the GRPO rewards all import
from here, so "how long is this text" has exactly one answer across the product. :func:`clip` is
the one way a text is shortened for display.
"""

from __future__ import annotations

import re
from collections import Counter

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"\b[a-zA-Z]+\b")
_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W\d_]+|\d+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<![.…])[.!?](?:[\"'”’»)\]]*)(?=\s|$)|[。！？](?:[\"'”’»)\]]*)")
"""A sentence end; an ellipsis ("…", "...") is not one: a text cut there trails off."""
_TRAILING = " \t\n,;:、，；：…-–—."


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis: for titles, lists and tables."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plural(word: str, n: int) -> str:
    """The form of ``word`` that ``n`` takes ("1 section", "3 sections"), so no count reads "1 sections"."""
    return word if n == 1 else f"{word}s"


def count_words(text: str) -> int:
    """Count words exactly as LongBench-Write does.

    Each CJK ideograph counts one, plus every match of ``\\b[a-zA-Z]+\\b`` (Python's
    Unicode-aware word boundaries), so "don't" counts two and digits count nothing. Matching
    the benchmark's quirks keeps our length scores comparable with published numbers.
    """
    return len(_CJK.findall(text)) + len(_LATIN_WORD.findall(text))


def length_score(required: int, actual: int) -> float:
    """LongBench-Write's S_l in [0, 100]: 100 on target, 0 at 4x over or 1/3 under."""
    if required <= 0:
        raise ValueError("required length must be positive")
    if actual <= 0:
        return 0.0
    if actual > required:
        return 100.0 * max(0.0, 1.0 - (actual / required - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (required / actual - 1.0) / 2.0)


def tokens(text: str) -> list[str]:
    """Split text into lower-cased units for repetition measures (CJK chars, words, numbers)."""
    return [t.lower() for t in _TOKEN.findall(text)]


def distinct_ngram_ratio(text: str, n: int = 4) -> float:
    """Share of n-grams that are distinct (1.0 = no repetition); 1.0 for texts too short to judge."""
    units = tokens(text)
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if not grams:
        return 1.0
    return len(set(grams)) / len(grams)


def repeated_ngram_fraction(text: str, n: int = 8) -> float:
    """Fraction of n-gram positions whose n-gram already occurred earlier in the text.

    Long n-grams (8 by default) rarely repeat in honest prose, so this rises sharply when a model
    loops or pads its length with copied passages; it is the GRPO redundancy penalty's basis.
    """
    units = tokens(text)
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeated = 0
    for gram in grams:
        if gram in seen:
            repeated += 1
        seen.add(gram)
    return repeated / len(grams)


LOOP_WINDOW = 400
"""Units (words, CJK characters, numbers) at the end of a text that loop detection looks at."""


def find_loop(text: str, window: int = LOOP_WINDOW) -> int | None:
    """Return the character offset where a degenerate loop starts repeating, or None.

    Two shapes of loop are caught in the last ``window`` units of ``text``:

    * a **passage** repeated word for word: some 8-gram occurs three times (honest prose never
      repeats eight words in a row three times);
    * a **phrase pattern** with varying words inside, such as ``known as the "…" (Portugal),``
      again and again: a three-unit head recurs four times at short, regular intervals and the
      rounds between its occurrences are mostly the same words. Exact n-grams miss this shape,
      since each round differs; waiting for four rounds (the third repetition) keeps a rhetorical
      triple ("we will…, we will…, we will…") from being taken for a loop.

    The offset is the start of the loop's second round, so the text kept holds one round of what
    the model meant to say. The writer checks a section as it streams, so a loop is cut after a
    few rounds instead of filling the section.
    """
    matches = list(_TOKEN.finditer(text))
    start = max(0, len(matches) - window)
    units = [m.group().lower() for m in matches[start:]]
    found = [i for i in (_repeated_passage(units), _repeated_pattern(units)) if i is not None]
    return matches[start + min(found)].start() if found else None


def _repeated_passage(units: list[str], n: int = 8, repeats: int = 3) -> int | None:
    """Unit index of the second occurrence of the earliest n-gram seen ``repeats`` times."""
    seen: dict[tuple[str, ...], list[int]] = {}
    best: int | None = None
    for i in range(len(units) - n + 1):
        positions = seen.setdefault(tuple(units[i : i + n]), [])
        if positions and i - positions[-1] < n:
            continue  # overlapping with itself ("a a a a …"): count whole rounds only
        positions.append(i)
        if len(positions) == repeats and (best is None or positions[1] < best):
            best = positions[1]
    return best


def _repeated_pattern(
    units: list[str], head: int = 3, rounds: int = 4, max_round: int = 24, similarity: float = 0.5
) -> int | None:
    """Unit index of the second round of the earliest phrase pattern repeated ``rounds`` times.

    A round runs from one occurrence of a ``head``-unit phrase to the next; the phrase must
    recur ``rounds`` times with every round at most ``max_round`` units, no round more than twice
    as long as another, and each round sharing at least ``similarity`` of its units with the one
    before it.
    """
    positions: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(units) - head + 1):
        positions.setdefault(tuple(units[i : i + head]), []).append(i)
    best: int | None = None
    for found in positions.values():
        if len(found) < rounds:
            continue
        run = [found[0]]
        for p in found[1:]:
            if head <= p - run[-1] <= max_round and _similar_round(units, run, p, similarity):
                run.append(p)
            else:
                run = [p]
            if len(run) == rounds:
                if best is None or run[1] < best:
                    best = run[1]
                break
    return best


def _similar_round(units: list[str], run: list[int], nxt: int, similarity: float) -> bool:
    """Whether the round ending at ``nxt`` repeats the run's previous round in length and words."""
    this = units[run[-1] : nxt]
    if len(run) < 2:
        return True
    before = units[run[-2] : run[-1]]
    if max(len(this), len(before)) > 2 * min(len(this), len(before)):
        return False
    shared = sum((Counter(this) & Counter(before)).values())
    return shared >= similarity * max(len(this), len(before))


def cut_at_sentence(text: str, max_words: int | None = None) -> str:
    """Cut ``text`` after the last complete sentence (within ``max_words`` words when given).

    Keeps everything when no sentence end exists, so a single long sentence is never lost; its
    trailing commas and ellipses go, so a cut text never trails off.
    """
    limit = len(text)
    if max_words is not None and count_words(text) > max_words:
        limit = _offset_after_words(text, max_words)
    ends = [m.end() for m in _SENTENCE_END.finditer(text[:limit])]
    if not ends:
        return text[:limit].rstrip(_TRAILING)
    return text[: ends[-1]].rstrip()


def _offset_after_words(text: str, words: int) -> int:
    """Character offset just after the ``words``-th counted word."""
    pattern = re.compile(r"[\u4e00-\u9fff]|\b[a-zA-Z]+\b")
    for i, match in enumerate(pattern.finditer(text), start=1):
        if i == words:
            return match.end()
    return len(text)
