"""GRPO rewards for long writing, measured with ``longwriter.text`` so training optimises what the studio shows.

Every function follows TRL's reward protocol: it gets ``prompts``, ``completions``, ``completion_ids``
and every dataset column as keywords and returns one float per completion. TRL normalises each
reward within its group before the weighted sum (``multi_objective_aggregation="normalize_then_sum"``),
so the scales need not match; they stay in [0, 1] (the penalty in [-1, 0]) only so logs read plainly.

With a think format only the ``<answer>`` part is the document, as in the studio, so length and
repetition are measured there. Length is counted on novel text only (words times the share of
n-grams not seen before), so looping or pasting a passage again cannot buy length reward; the
redundancy penalty pushes against repetition even when the length is already right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from longwriter.formats import ThinkSplitter
from longwriter.text import count_words, length_score, repeated_ngram_fraction
from training.config import RewardWeights

Completion = str | list[dict[str, Any]]
RewardFunc = Callable[..., list[float]]

_ANSWER_FORMAT = re.compile(
    r"\s*<think>(?:(?!</?think>|</?answer>).)*</think>\s*<answer>((?:(?!</?think>|</?answer>).)*)</answer>\s*",
    re.DOTALL,
)


def completion_text(completion: Completion) -> str:
    """The generated text, whether TRL passes a string (raw prompts) or assistant messages (chat prompts)."""
    if isinstance(completion, str):
        return completion
    return "".join(str(message.get("content") or "") for message in completion)


def answer_text(text: str) -> str:
    """The document part of a ``<think>…</think><answer>…</answer>`` output: what is inside ``<answer>``.

    Uses the studio's own splitter, so a completion that never opens ``<answer>`` has no document at all.
    """
    splitter = ThinkSplitter()
    pieces = splitter.feed(text) + splitter.flush()
    return "".join(piece for channel, piece in pieces if channel == "text")


def _documents(completions: Sequence[Completion], think: bool) -> list[str]:
    texts = [completion_text(c) for c in completions]
    return [answer_text(t) for t in texts] if think else texts


def range_score(words: float, low: int, high: int) -> float:
    """1 inside [low, high], falling off outside along LongBench-Write's S_l curve from the nearer bound.

    With ``low == high`` this is exactly S_l / 100; zero at 4x the upper bound or a third of the lower one.
    """
    if low <= words <= high:
        return 1.0
    bound = high if words > high else low
    return length_score(bound, round(words)) / 100.0


def novel_words(text: str, ngram: int = 8) -> float:
    """Words that are not part of a repeated passage: the word count scaled by the share of fresh n-grams."""
    return count_words(text) * (1.0 - repeated_ngram_fraction(text, ngram))


def length_reward(
    completions: Sequence[Completion],
    min_words: Sequence[int],
    max_words: Sequence[int],
    think: bool = False,
    ngram: int = 8,
    **_: Any,
) -> list[float]:
    """How well each completion's novel length fits its prompt's range (columns ``min_words``/``max_words``)."""
    documents = _documents(completions, think)
    ranges = zip(documents, min_words, max_words, strict=True)
    return [range_score(novel_words(document, ngram), low, high) for document, low, high in ranges]


def redundancy_penalty(completions: Sequence[Completion], think: bool = False, ngram: int = 8, **_: Any) -> list[float]:
    """Minus the share of n-grams that repeat earlier text: 0 for varied prose, near -1 for a loop."""
    return [-repeated_ngram_fraction(d, ngram) for d in _documents(completions, think)]


def format_reward(completions: Sequence[Completion], **_: Any) -> list[float]:
    """1 for exactly one ``<think>…</think>`` then one non-empty ``<answer>…</answer>`` and nothing else, else 0."""
    scores = []
    for completion in completions:
        match = _ANSWER_FORMAT.fullmatch(completion_text(completion))
        scores.append(1.0 if match and match.group(1).strip() else 0.0)
    return scores


def reward_functions(weights: RewardWeights, *, think: bool) -> tuple[list[RewardFunc | str], list[float]]:
    """The reward functions a run uses and their weights, in the order GRPOConfig.reward_weights expects.

    A zero weight leaves a reward out; the format reward needs a think format; the quality reward is
    the ``quality_model`` checkpoint itself, which TRL loads as a sequence classifier and scores with.
    ``functools.partial`` keeps TRL's log names (``rewards/length_reward/mean``) the functions' own.
    """
    candidates: list[tuple[RewardFunc | str, float]] = [
        (partial(length_reward, think=think, ngram=weights.ngram), weights.length),
        (partial(redundancy_penalty, think=think, ngram=weights.ngram), weights.redundancy),
    ]
    if think:
        candidates.append((format_reward, weights.format))
    if weights.quality_model:
        candidates.append((weights.quality_model, weights.quality))
    chosen = [(func, weight) for func, weight in candidates if weight > 0]
    if not chosen:
        raise ValueError("every reward has weight 0; GRPO needs at least one")
    return [func for func, _ in chosen], [weight for _, weight in chosen]
