"""Length targets for GRPO prompts: the word range each completion is rewarded for hitting.

LongWriter-Zero asks a judge model for a range per prompt and turns an explicit "N words" into
N ± 10%. We have no judge at training time, so the range comes from a data column (LongBench-Write's
``length``, the studio's ``target_words``), else from the instruction itself, in English or Chinese,
else from the config's default range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(万|千)?"
_UNIT = r"\s*(?:-\s*)?(?:words?\b|个?字)"
_RANGE = re.compile(rf"(?:between\s+)?{_NUMBER}\s*(?:-|–|—|~|～|to|and|至|到)\s*{_NUMBER}{_UNIT}", re.IGNORECASE)
_SINGLE = re.compile(rf"{_NUMBER}{_UNIT}", re.IGNORECASE)
_SCALE = {None: 1, "千": 1_000, "万": 10_000}


@dataclass(frozen=True)
class LengthTarget:
    """An inclusive word range; ``low == high`` is an exact target scored with LongBench-Write's S_l."""

    low: int
    high: int

    @classmethod
    def around(cls, words: int, tolerance: float) -> LengthTarget:
        """``words`` ± ``tolerance`` (a fraction), never below one word."""
        return cls(max(1, round(words * (1 - tolerance))), max(1, round(words * (1 + tolerance))))


def _value(number: str, scale: str | None) -> int:
    return round(float(number.replace(",", "")) * _SCALE[scale])


def stated_length(instruction: str) -> LengthTarget | None:
    """The length an instruction asks for, exactly as stated: "800-1,200 words" is (800, 1200), "3000字" (3000, 3000).

    A range is read before a single number so "1000 to 1500 words" is not taken as 1500; the first
    mention wins, which is where instructions put their length requirement.
    """
    found = _RANGE.search(instruction)
    if found:
        low = _value(found.group(1), found.group(2) or found.group(4))
        high = _value(found.group(3), found.group(4))
        if 0 < low <= high:
            return LengthTarget(low, high)
    found = _SINGLE.search(instruction)
    if found:
        words = _value(found.group(1), found.group(2))
        if words > 0:
            return LengthTarget(words, words)
    return None


def length_target(instruction: str, *, target: int | None, tolerance: float, default: tuple[int, int]) -> LengthTarget:
    """The range a prompt is rewarded for.

    ``target`` (from a data column) wins, then a length stated in the instruction, widened by
    ``tolerance`` when it is a single number, then ``default``.
    """
    if target is not None and target > 0:
        return LengthTarget.around(target, tolerance)
    stated = stated_length(instruction)
    if stated is None:
        return LengthTarget(*default)
    return LengthTarget.around(stated.low, tolerance) if stated.low == stated.high else stated
