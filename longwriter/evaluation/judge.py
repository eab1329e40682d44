"""The LLM judge: quality scores on six dimensions (S_q) and pairwise verdicts for arenas.

The judge is any :class:`~longwriter.backends.Backend` (an OpenAI-compatible endpoint is the usual
one). It is asked for a short analysis followed by one strict JSON object. The parser accepts that
object wherever it sits in the answer (bare, in a Markdown fence, after the analysis) but nothing
looser than JSON: a truncated or malformed object is a failed attempt, retried a few times, and an
item whose answers never parse is reported as unparsable — never silently dropped or guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from longwriter.backends.base import Backend, BackendError, GenerationRequest

T = TypeVar("T")

DIMENSIONS = ("Relevance", "Accuracy", "Coherence", "Clarity", "Breadth and Depth", "Reading Experience")
"""LongBench-Write's quality dimensions, each scored 1–5."""

_DESCRIPTIONS = {
    "Relevance": "does the response do what the task asks, and stay on its subject?",
    "Accuracy": "are its facts, reasoning and details correct and free of contradictions?",
    "Coherence": "does it hold together, with a clear structure and smooth transitions?",
    "Clarity": "is the language clear, fluent and easy to follow?",
    "Breadth and Depth": "does it cover the subject widely and go into it with substance?",
    "Reading Experience": "is it engaging and pleasant to read, free of repetition and filler?",
}
ANSWER_LIMIT = 4000
"""Characters of each raw judge answer kept in the record (enough to see why it failed)."""

Winner = Literal["a", "b", "tie"]


class JudgeParseError(ValueError):
    """The judge's answer holds no usable JSON verdict; the message says what was wrong."""


class JudgeUnavailable(RuntimeError):
    """The judge's backend failed (server down, refused the request): the run stops, nothing is scored."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower()).replace("and", "")


_DIMENSION_KEYS = {_key(d): d for d in DIMENSIONS}


# -- prompts ----------------------------------------------------------------------------------------


def score_prompt(instruction: str, response: str) -> str:
    """The single-response prompt: six dimensions, length to be ignored, analysis then strict JSON."""
    dimensions = "\n".join(f"- {name}: {_DESCRIPTIONS[name]}" for name in DIMENSIONS)
    shape = "{" + ", ".join(f'"{name}": <1-5>' for name in DIMENSIONS) + "}"
    return (
        "You are an impartial reviewer of long-form writing. Read the writing task and the response, then "
        "rate the response on each of these six dimensions with a whole number from 1 (very poor) to 5 "
        f"(excellent):\n{dimensions}\n\n"
        "Do not let the length of the response affect any score: length is measured separately. Judge the "
        "writing in whatever language it is written.\n\n"
        f"[Writing task]\n{instruction.strip()}\n\n"
        f"[Response]\n{response.strip()}\n\n"
        "Answer in two parts. First, a short analysis of the response's strengths and weaknesses (a few "
        "sentences). Then, on the last line, the scores as one JSON object in exactly this form, with each "
        f"<1-5> replaced by your score and nothing after it:\n{shape}"
    )


def compare_prompt(instruction: str, response_a: str, response_b: str) -> str:
    """The pairwise prompt: which response answers the task better, order and length not to matter."""
    qualities = ", ".join(d.lower() for d in DIMENSIONS)
    return (
        "You are an impartial reviewer comparing two responses to the same writing task. Decide which one "
        f"is the better piece of writing for the task, considering {qualities}. Do not prefer a response "
        "because it is longer or because of the order in which the two are shown.\n\n"
        f"[Writing task]\n{instruction.strip()}\n\n"
        f"[Response A]\n{response_a.strip()}\n\n"
        f"[Response B]\n{response_b.strip()}\n\n"
        "Answer in two parts. First, a short analysis comparing the two (a few sentences). Then, on the last "
        'line, one JSON object and nothing after it: {"winner": "A"} if A is better, {"winner": "B"} if B is '
        'better, or {"winner": "tie"} if neither is clearly better.'
    )


def _retry_note(reason: str) -> str:
    return (
        f"\n\n(Your previous answer could not be used: {reason}. Give the short analysis again and end with "
        "the complete JSON object exactly as asked.)"
    )


# -- parsing ----------------------------------------------------------------------------------------


def _strip_think(answer: str) -> str:
    """Drop a reasoning model's ``<think>…</think>`` block (and an unclosed one)."""
    answer = re.sub(r"<think>.*?</think>", "", answer, flags=re.DOTALL)
    return answer.split("<think>")[0] if "<think>" in answer else answer


def _json_objects(text: str) -> tuple[list[tuple[int, dict[str, Any]]], str | None]:
    """Every JSON object that parses from some ``{`` in ``text`` (position, object), and why the
    text's last attempt at an object failed when it comes after every object that parsed."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, dict[str, Any]]] = []
    covered_to = -1
    failure: tuple[int, str] | None = None
    for match in re.finditer(r"\{", text):
        start = match.start()
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            if start > covered_to:
                failure = (
                    start,
                    "the JSON object is cut off (truncated answer)"
                    if _unclosed(text, start)
                    else f"invalid JSON ({exc.msg})",
                )
            continue
        if isinstance(value, dict):
            found.append((start, value))
            covered_to = max(covered_to, end)
    last_end = covered_to if found else -1
    error = failure[1] if failure is not None and failure[0] > last_end else None
    return found, error


def _unclosed(text: str, start: int) -> bool:
    """True when the object opened at ``start`` is still open (or inside a string) at the end of the text;
    False when it closes, or when its brackets do not match (malformed rather than cut off)."""
    stack: list[str] = []
    in_string, escaped = False, False
    for ch in text[start:]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return False
            if not stack:
                return False
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _scores_in(obj: dict[str, Any]) -> tuple[dict[str, float] | None, str]:
    """The six scores in ``obj`` (or in a nested object such as ``{"scores": {...}}``), or why not."""
    named = {_DIMENSION_KEYS[_key(k)]: v for k, v in obj.items() if isinstance(k, str) and _key(k) in _DIMENSION_KEYS}
    if not named:
        for value in obj.values():
            if isinstance(value, dict):
                nested, reason = _scores_in(value)
                if nested is not None or reason.startswith(("missing", "score")):
                    return nested, reason
        return None, "the JSON object has none of the six dimensions"
    missing = [d for d in DIMENSIONS if d not in named]
    if missing:
        return None, f"missing dimensions: {', '.join(missing)}"
    scores: dict[str, float] = {}
    for name in DIMENSIONS:
        number = _number(named[name])
        if number is None or not 1 <= number <= 5:
            return None, f"score for {name} must be a number from 1 to 5, got {named[name]!r}"
        scores[name] = int(number) if number == int(number) else number
    return scores, ""


def parse_scores(answer: str) -> dict[str, float]:
    """The six dimension scores from a judge's answer; raises :class:`JudgeParseError` with the reason.

    The last JSON object holding the scores wins (the answer may quote the requested shape first).
    Keys are matched loosely ("breadth_and_depth", "reading experience"); values must be numbers
    (or numeric strings) from 1 to 5.
    """
    text = _strip_think(answer or "")
    if not text.strip():
        raise JudgeParseError("the answer is empty")
    objects, error = _json_objects(text)
    reason = error or "no JSON object in the answer"
    for _, obj in reversed(objects):
        scores, why = _scores_in(obj)
        if scores is not None:
            return scores
        reason = error or why
    raise JudgeParseError(reason)


_WINNERS = {
    "a": "a",
    "responsea": "a",
    "assistanta": "a",
    "b": "b",
    "responseb": "b",
    "assistantb": "b",
    "tie": "tie",
    "draw": "tie",
    "equal": "tie",
    "neither": "tie",
    "both": "tie",
    "same": "tie",
}


def parse_verdict(answer: str) -> Winner:
    """ "a", "b" or "tie" from a pairwise answer's ``{"winner": …}``; raises :class:`JudgeParseError`."""
    text = _strip_think(answer or "")
    if not text.strip():
        raise JudgeParseError("the answer is empty")
    objects, error = _json_objects(text)
    reason = error or "no JSON object in the answer"
    for _, obj in reversed(objects):
        value = next((v for k, v in obj.items() if isinstance(k, str) and k.strip().lower() == "winner"), None)
        if value is None:
            reason = error or 'the JSON object has no "winner"'
            continue
        winner = _WINNERS.get(re.sub(r"[^a-z]", "", str(value).lower()))
        if winner is None:
            reason = error or f'"winner" must be "A", "B" or "tie", got {value!r}'
            continue
        return winner  # type: ignore[return-value]
    raise JudgeParseError(reason)


def analysis_of(answer: str) -> str:
    """The judge's analysis: its answer up to the JSON object (clipped)."""
    text = _strip_think(answer or "")
    cut = text.rfind("{")
    head = text[:cut] if cut > 0 else text
    head = re.sub(r"```(?:json)?\s*$", "", head.strip()).strip()
    return head[:1500]


def quality(scores: dict[str, float]) -> float:
    """One response's quality on LongBench-Write's 0–100 scale: mean over dimensions of (score − 1)·25."""
    return sum((scores[d] - 1.0) * 25.0 for d in DIMENSIONS) / len(DIMENSIONS)


# -- the judge --------------------------------------------------------------------------------------


@dataclass
class Judgement:
    """A judge's scores for one response, or why there are none after every attempt."""

    judge: str
    scores: dict[str, float] | None = None
    analysis: str = ""
    attempts: int = 0
    error: str | None = None
    input_truncated: bool = False
    answers: list[str] = field(default_factory=list)

    @property
    def quality(self) -> float | None:
        return quality(self.scores) if self.scores is not None else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["quality"] = self.quality
        return data


@dataclass
class Verdict:
    """A pairwise judgement: ``winner`` "a", "b", "tie", or None when no answer parsed."""

    judge: str
    winner: Winner | None = None
    analysis: str = ""
    attempts: int = 0
    error: str | None = None
    answers: list[str] = field(default_factory=list)


class Judge:
    """Scores responses with any backend; each unparsable answer is retried up to ``attempts`` times."""

    def __init__(
        self,
        backend: Backend,
        *,
        attempts: int = 3,
        max_tokens: int = 1024,
        temperature: float = 0.5,
        top_p: float = 0.95,
        seed: int | None = 0,
        name: str | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("a judge needs at least one attempt")
        self.backend = backend
        self.attempts = attempts
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.id = name or backend.spec.id

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "backend": self.backend.name,
            "attempts": self.attempts,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }

    async def score(self, instruction: str, response: str) -> Judgement:
        """Six dimension scores for ``response`` to ``instruction``."""
        (fitted,), cut = self._fit(lambda texts: score_prompt(instruction, texts[0]), [response])
        prompt = score_prompt(instruction, fitted)
        result = Judgement(judge=self.id, input_truncated=cut)
        result.scores = await self._until_parsed(prompt, parse_scores, result)
        return result

    async def compare(self, instruction: str, response_a: str, response_b: str) -> Verdict:
        """Which of two responses (shown as A, then B) is better."""
        (a, b), _ = self._fit(lambda texts: compare_prompt(instruction, texts[0], texts[1]), [response_a, response_b])
        prompt = compare_prompt(instruction, a, b)
        result = Verdict(judge=self.id)
        result.winner = await self._until_parsed(prompt, parse_verdict, result)
        return result

    async def _until_parsed(self, prompt: str, parse: Callable[[str], T], result: Judgement | Verdict) -> T | None:
        """Ask until ``parse`` accepts an answer, telling the judge what was wrong with the last one.

        Every answer and the last parse error are kept on ``result``, so an item that never parses
        is reported with its reason instead of being dropped.
        """
        for attempt in range(self.attempts):
            answer = await self._ask(prompt + (_retry_note(result.error) if attempt and result.error else ""), attempt)
            result.attempts += 1
            result.answers.append(answer[:ANSWER_LIMIT])
            try:
                parsed = parse(answer)
            except JudgeParseError as exc:
                result.error = str(exc)
                continue
            result.error, result.analysis = None, analysis_of(answer)
            return parsed
        return None

    async def _ask(self, prompt: str, attempt: int) -> str:
        request = GenerationRequest(
            prompt=prompt,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=None if self.seed is None else self.seed + attempt,
        )
        pieces: list[str] = []
        try:
            async with aclosing(self.backend.stream(request)) as stream:  # type: ignore[type-var]
                async for piece in stream:
                    pieces.append(piece)
        except BackendError as exc:
            raise JudgeUnavailable(f"The judge {self.id} failed: {exc}") from exc
        return "".join(pieces)

    def _fit(self, render: Any, texts: list[str]) -> tuple[list[str], bool]:
        """Cut the responses (equally, from the end) until the prompt fits the judge's context window."""
        budget = max(256, self.backend.context_window - self.max_tokens - 64)
        originals, share, fitted = texts, 1.0, texts
        for _ in range(10):
            used = self.backend.count_tokens(render(fitted))
            if used <= budget:
                break
            share *= max(0.05, budget / used * 0.95)
            fitted = [
                t[: int(len(t) * share)].rstrip() + "\n[… the rest is cut to fit the judge's context window …]"
                for t in originals
            ]
        return fitted, fitted is not originals
