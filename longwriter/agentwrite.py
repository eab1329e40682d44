"""AgentWrite: plan, then write section by section, as one async stream of typed events.

The method of the LongWriter paper (arXiv 2408.07055): the model first outlines the document as
one line per paragraph with a word budget, then writes each paragraph with the instruction,
the whole plan and everything written so far in its prompt. On top of the paper this module
adds what makes a weak model land near its target: sections that stop short are continued,
sections that overrun are cut at a sentence boundary, loops are cut off, and the prompt is
kept inside the context window while its long prefix stays byte-identical between sections.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass, replace
from itertools import takewhile
from typing import Literal, Protocol

from longwriter.backends.base import Backend, BackendError, GenerationRequest
from longwriter.cleanup import remove_leaks
from longwriter.events import (
    DocumentDone,
    Event,
    Failed,
    PlanDelta,
    PlanReady,
    SectionDone,
    SectionReset,
    SectionStarted,
    Stopped,
    TextDelta,
)
from longwriter.formats import ThinkSplitter
from longwriter.plan import Plan, PlanError, Section, accept_plan, fallback_plan, plan_prompt
from longwriter.prompts import PLAN_OPENING, PROMPT_WORDING, section_prompt, single_prompt, strip_marker
from longwriter.sampling import Sampling
from longwriter.streams import merge
from longwriter.text import count_words, cut_at_sentence, find_loop, length_score

Mode = Literal["agentwrite", "parallel", "single", "think"]
MODES: tuple[Mode, ...] = ("agentwrite", "parallel", "single", "think")
StopReason = Literal["complete", "target", "length-cap", "loop"]
PLAN_ATTEMPTS = 2
"""Outlines asked for before the default plan stands in: the first, and one more with another seed."""

_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)]?\s*$")


@dataclass(frozen=True)
class LengthControl:
    """How hard the writer steers each section toward its word budget."""

    continue_below: float = 0.75
    """A section under this share of its budget when the model ends (or after a loop is cut out)
    is continued, the model not allowed to end again before it reaches that share (``min_tokens``:
    left alone, a small model that ended once tends to end again at once) ..."""
    max_continuations: int = 2
    """... at most this many times."""
    finish_above: float = 1.0
    """Past this share of its budget, a section ends at its next sentence end ..."""
    cut_above: float = 1.3
    """... and past this share it is cut back to the last sentence end."""
    loop_check_chars: int = 100
    """How often (in characters of new text) to look for a degenerate loop and leaked prompt lines:
    often enough that a phrase loop is cut within a few rounds."""
    loop_penalty: float = 1.1
    """The least repetition penalty a section is sampled with once a loop was cut out of it: continued
    from the same text with the same sampling, a model that looped loops again (a model outside the
    catalog comes without a penalty, and a small one then ends sections at a third of their budget)."""


class WrittenSection(Protocol):
    """A stored section, as far as resuming needs it (the store's section rows are these)."""

    @property
    def index(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def text(self) -> str: ...


class StopRequested(Exception):
    """Raised inside the writer when the caller's stop event is set."""


async def _until_stopped(stream: AsyncIterator[str], stop: asyncio.Event | None) -> AsyncIterator[str]:
    """Yield from ``stream`` until it ends or ``stop`` is set, then close it for real.

    Racing each piece against the stop event means Stop works even while the backend is silent
    (a slow prefill, a stalled server); cancelling the pending read runs the backend's cleanup.
    """
    if stop is None:
        try:
            async for piece in stream:
                yield piece
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return
    waiter = asyncio.ensure_future(stop.wait())
    try:
        while True:
            if stop.is_set():  # a backend whose pieces never wait must still be stoppable
                raise StopRequested
            nxt = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait({nxt, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                nxt.cancel()
                with suppress(asyncio.CancelledError, StopAsyncIteration):
                    await nxt
                raise StopRequested
            try:
                yield nxt.result()
            except StopAsyncIteration:
                return
    finally:
        waiter.cancel()
        await stream.aclose()  # type: ignore[attr-defined]


class AgentWriter:
    """Runs plans and sections against one backend and emits :mod:`longwriter.events`."""

    def __init__(
        self,
        backend: Backend,
        sampling: Sampling | None = None,
        length: LengthControl | None = None,
        stop: asyncio.Event | None = None,
        max_parallel: int = 4,
    ) -> None:
        self.backend = backend
        self.sampling = sampling or Sampling.for_model(backend.spec)
        self.length = length or LengthControl()
        self.stop = stop
        self.max_parallel = max_parallel
        self._tokens_per_word = 1.6

    # -- planning -------------------------------------------------------------------------

    async def draft_plan(self, instruction: str, target_words: int) -> AsyncIterator[Event]:
        """Stream the model's outline, then the plan to follow: its own, its second try, or the default.

        An outline that is not a plan (see :func:`accept_plan`) is asked for once more with another
        seed; when that one is refused too, the default plan stands in. ``PlanReady.source`` says
        which happened, so no consumer presents a default plan as the model's.
        """
        self._calibrate(instruction)
        opening = "" if self.backend.spec.format.think else PLAN_OPENING
        request = self._request(
            plan_prompt(instruction, target_words), self._plan_tokens(target_words), assistant_prefix=opening
        )
        rejected: list[str] = []
        problem = ""
        for attempt in range(PLAN_ATTEMPTS):
            if attempt:
                yield PlanDelta(f"\n\n[{problem} Asking the model again.]\n\n")
                request = replace(request, seed=None if request.seed is None else request.seed + attempt)
            raw = opening
            if opening:
                yield PlanDelta(opening)
            splitter = ThinkSplitter() if self.backend.spec.format.think else None
            try:
                async with aclosing(_until_stopped(self.backend.stream(request), self.stop)) as pieces:
                    async for piece in pieces:
                        for channel, text in _channels(piece, splitter):
                            if channel == "text":
                                raw += text
                                yield PlanDelta(text)
            except StopRequested:
                yield Stopped()
                return
            except BackendError as exc:
                yield Failed(str(exc))
                return
            try:
                plan = accept_plan(raw, instruction, target_words)
            except PlanError as exc:
                problem = str(exc)
                rejected.append(raw)
                continue
            source = "retry" if attempt else "model"
            yield PlanReady(plan=plan, raw=raw, source=source, rejected=tuple(rejected), problem=problem)
            return
        plan = fallback_plan(instruction, target_words)
        yield PlanReady(plan=plan, raw=rejected[-1], source="fallback", rejected=tuple(rejected[:-1]), problem=problem)

    # -- writing --------------------------------------------------------------------------

    async def run(
        self,
        instruction: str,
        target_words: int,
        mode: Mode = "agentwrite",
        plan: Plan | None = None,
        written: Sequence[WrittenSection] = (),
    ) -> AsyncIterator[Event]:
        """The whole pipeline, or what is left of it: plan (unless given or not needed by the mode), then write.

        The one place a mode picks its way of writing. ``written`` are the document's stored
        sections: sequential writing resumes after the leading run of finished ones (a plan edit
        can leave a finished section behind an unwritten one, and the gap must not be skipped) and
        continues the interrupted section's text; parallel writing skips every finished section.
        """
        if not instruction.strip():
            yield Failed("The instruction is empty: say what the document should be about.")
            return
        done = [s.text for s in takewhile(lambda s: s.status == "done", written)]
        following = written[len(done)] if len(done) < len(written) else None
        partial = following.text if following is not None and following.text.strip() else ""
        if mode in ("single", "think"):
            async with aclosing(self.write_single(instruction, target_words, mode == "think", partial)) as events:
                async for event in events:
                    yield event
            return
        if plan is None:
            async with aclosing(self.draft_plan(instruction, target_words)) as events:
                async for event in events:
                    yield event
                    if isinstance(event, (Failed, Stopped)):
                        return
                    if isinstance(event, PlanReady):
                        plan = event.plan
        else:
            yield PlanReady(plan=plan)
        assert plan is not None
        if mode == "parallel":
            writing = self.write_parallel(instruction, plan, {s.index: s.text for s in written if s.status == "done"})
        else:
            writing = self.write_sequential(instruction, plan, done, partial)
        async with aclosing(writing) as events:
            async for event in events:
                yield event

    async def write_sequential(
        self, instruction: str, plan: Plan, done: list[str] | None = None, partial: str = ""
    ) -> AsyncIterator[Event]:
        """Write sections in order, each seeing all text before it; resumes after ``done`` sections.

        ``partial`` is the stored text of an interrupted section, which is continued, not redone.
        """
        self._calibrate(instruction)
        texts = list(done or [])
        started = time.monotonic()
        tokens = 0
        for index in range(len(texts), len(plan.sections)):
            finished: SectionDone | None = None
            async for event in self.write_section(instruction, plan, texts, index, prefix=partial):
                yield event
                if isinstance(event, (Failed, Stopped)):
                    return
                if isinstance(event, SectionDone):
                    finished = event
            partial = ""
            assert finished is not None
            texts.append(finished.text)
            tokens += finished.tokens
        yield self._document_done(texts, plan.total_words, started, tokens)

    async def write_parallel(
        self, instruction: str, plan: Plan, done: dict[int, str] | None = None
    ) -> AsyncIterator[Event]:
        """Write sections concurrently without previous text (the paper's "+Parallel").

        Sections in ``done`` (index → text) are already written and are skipped.
        """
        self._calibrate(instruction)
        started = time.monotonic()
        texts: dict[int, str] = dict(done or {})
        sections = [
            (lambda i=i: self.write_section(instruction, plan, [], i))
            for i in range(len(plan.sections))
            if i not in texts
        ]
        tokens = 0
        async with aclosing(merge(sections, self.max_parallel)) as events:
            async for event in events:
                yield event
                if isinstance(event, (Failed, Stopped)):
                    return
                if isinstance(event, SectionDone):
                    texts[event.index] = event.text
                    tokens += event.tokens
        ordered = [texts[i] for i in range(len(plan.sections))]
        yield self._document_done(ordered, plan.total_words, started, tokens)

    async def write_single(
        self, instruction: str, target_words: int, think: bool = False, partial: str = ""
    ) -> AsyncIterator[Event]:
        """One pass, the way LongWriter models are used directly; ``think`` needs a think/answer model.

        ``partial`` is stored text of an interrupted run, which is continued.
        """
        if think and not self.backend.spec.format.think:
            yield Failed(
                f"Think mode needs a think/answer model such as LongWriter-Zero; {self.backend.spec.id} is not one."
            )
            return
        self._calibrate(instruction)
        started = time.monotonic()
        plan = Plan(sections=[Section(main_point=instruction.strip()[:200] or "text", words=target_words)])
        prompt = single_prompt(instruction, target_words)
        done: SectionDone | None = None
        async for event in self._section(prompt, 0, target_words, prefix=partial):
            yield event
            if isinstance(event, (Failed, Stopped)):
                return
            if isinstance(event, SectionDone):
                done = event
        assert done is not None
        yield self._document_done([done.text], plan.total_words, started, done.tokens)

    async def write_section(
        self,
        instruction: str,
        plan: Plan,
        previous: list[str],
        index: int,
        prefix: str = "",
        extra_words: int | None = None,
    ) -> AsyncIterator[Event]:
        """Write (or regenerate, or continue from ``prefix``) one section of ``plan``.

        ``extra_words`` asks for that many more words after ``prefix`` (the "continue" action on a
        finished section); by default the target is the section's budget.
        """
        target = plan.sections[index].words
        budget_tokens = self._max_tokens(extra_words or target)
        try:
            prompt = self._fit_prompt(instruction, plan, previous, index, budget_tokens)
        except PlanError as exc:
            yield Failed(str(exc), index=index)
            return
        goal = count_words(prefix) + extra_words if extra_words else target
        async for event in self._section(prompt, index, goal, prefix=prefix):
            yield event

    # -- internals ------------------------------------------------------------------------

    async def _section(self, prompt: str, index: int, target: int, prefix: str) -> AsyncIterator[Event]:
        """Generate one section with length control, emitting start, deltas, resets and done."""
        yield SectionStarted(index=index, target_words=target, prompt=prompt)
        if prefix:
            yield SectionReset(index, prefix)  # the stored partial text this run continues
        started = time.monotonic()
        text = prefix
        raw = ""
        looped = False
        continuations = 0
        cap = max(1, int(target * self.length.cut_above))
        while True:
            reason: StopReason = "complete"
            words = count_words(text)
            max_tokens = self._max_tokens(max(target - words, target // 4, 40))
            floor = self._tokens(target * self.length.continue_below - words) if continuations else 0
            request = self._request(prompt, max_tokens, assistant_prefix=text, min_tokens=floor, looped=looped)
            splitter = ThinkSplitter(answering=bool(text)) if self.backend.spec.format.think else None
            head = not text.strip()  # hold the first line back to strip "Paragraph N" markers
            pending = ""
            checked = len(text)
            since_check = 0
            produced = 0
            try:
                async with aclosing(_until_stopped(self.backend.stream(request), self.stop)) as pieces:
                    async for piece in pieces:
                        for channel, chunk in _channels(piece, splitter):
                            if channel == "reasoning":
                                yield TextDelta(index, chunk, "reasoning")
                                continue
                            raw += chunk
                            if head:
                                pending += chunk
                                if "\n" not in pending.lstrip("\n") and len(pending) < 160:
                                    continue
                                chunk, pending, head = strip_marker(pending.lstrip()), "", False
                            if not chunk:
                                continue
                            text += chunk
                            produced += len(chunk)
                            since_check += len(chunk)
                            yield TextDelta(index, chunk)
                            words = count_words(text)
                            if words > cap:
                                reason = "length-cap"
                                break
                            if words >= target * self.length.finish_above and _SENTENCE_END.search(text[-3:]):
                                reason = "target"
                                break
                            if since_check >= self.length.loop_check_chars:
                                since_check = 0
                                if find_loop(text[len(prefix) :]) is not None:
                                    reason = "loop"
                                    break
                                # whole paragraphs only: a leak (or the outline after "Here is the plan:")
                                # may be half written
                                done_to = text.rfind("\n\n") + 2
                                if done_to > checked and (cleaned := _without_leaks(text, prefix, done_to)):
                                    text, checked = cleaned + text[done_to:], len(cleaned)
                                    yield SectionReset(index, text)
                        if reason != "complete":
                            break
            except StopRequested:
                yield Stopped(index=index)
                return
            except BackendError as exc:
                yield Failed(str(exc), index=index)
                return
            if pending:
                chunk = strip_marker(pending.strip())
                text += chunk
                produced += len(chunk)
                yield TextDelta(index, chunk)
            if reason in ("length-cap", "loop"):
                text = self._trim(text, prefix, cap, reason)
                yield SectionReset(index, text)
            looped = looped or reason == "loop"
            if cleaned := _without_leaks(text, prefix, len(text)):
                text = cleaned
                yield SectionReset(index, text)
            # The model ended, looped and was cut back, or wrote prompt text that was taken out:
            # go on if that left the section short.
            short = count_words(text) < target * self.length.continue_below
            if reason in ("target", "length-cap") and not short:
                break
            if not short or continuations >= self.length.max_continuations or produced == 0:
                break
            continuations += 1
            if not text.endswith((" ", "\n")):
                separator = "\n\n" if text.endswith((".", "!", "?", "。", "！", "？")) else " "
                text += separator
                yield TextDelta(index, separator)
        if looped and reason == "complete":
            reason = "loop"  # cut for looping, then continued until the model ended: the loop is the news
        words = count_words(text)
        self._learn_rate(text[len(prefix) :])
        yield SectionDone(
            index=index,
            text=text.strip(),
            words=words,
            target_words=target,
            tokens=self.backend.count_tokens(text[len(prefix) :]),
            seconds=time.monotonic() - started,
            continuations=continuations,
            stop_reason=reason,
            prompt=prompt,
            raw=raw,
        )

    def _trim(self, text: str, prefix: str, cap: int, reason: StopReason) -> str:
        """Cut an overrun at the last sentence within the cap, or a loop after its first round."""
        if reason == "loop":
            offset = find_loop(text[len(prefix) :])
            if offset is not None:
                text = text[: len(prefix) + offset]
            return cut_at_sentence(text) or text
        return cut_at_sentence(text, max_words=cap) or text

    def _fit_prompt(self, instruction: str, plan: Plan, previous: list[str], index: int, budget: int) -> str:
        """The longest prompt that fits the window: drop whole oldest sections, never the plan."""
        window = self.backend.context_window - budget - 32
        for omitted in range(len(previous) + 1):
            prompt = section_prompt(instruction, plan, previous[omitted:], index, omitted=omitted)
            if self.backend.count_tokens(prompt) <= window:
                return prompt
        raise PlanError(
            f"The instruction and plan alone need more than the model's {self.backend.context_window}-token "
            "context window; shorten the instruction or use fewer sections."
        )

    def _request(
        self, prompt: str, max_tokens: int, assistant_prefix: str = "", min_tokens: int = 0, looped: bool = False
    ) -> GenerationRequest:
        s = self.sampling
        return GenerationRequest(
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            repetition_penalty=max(s.repetition_penalty, self.length.loop_penalty) if looped else s.repetition_penalty,
            seed=s.seed,
            assistant_prefix=assistant_prefix,
            min_tokens=min_tokens,
        )

    def _max_tokens(self, words: int) -> int:
        """Token budget for ``words`` words: the cut-off ratio plus margin, at the learned rate."""
        return math.ceil(words * self.length.cut_above * self._tokens_per_word) + 32

    def _tokens(self, words: float) -> int:
        """Tokens that ``words`` words take at the learned rate (none for a negative count)."""
        return max(0, math.ceil(words * self._tokens_per_word))

    def _plan_tokens(self, target_words: int) -> int:
        sections = max(1, target_words // 300)
        return min(2048, 60 + sections * 60)

    def _calibrate(self, sample: str) -> None:
        """Start from this model's tokens-per-word on the instruction (CJK and Latin differ a lot)."""
        words = count_words(sample)
        if words >= 5:
            self._tokens_per_word = min(4.0, max(1.3, self.backend.count_tokens(sample) / words))

    def _learn_rate(self, produced: str) -> None:
        """Track the tokens-per-word the model actually writes, so later budgets are right."""
        words = count_words(produced)
        if words >= 50:
            measured = self.backend.count_tokens(produced) / words
            self._tokens_per_word = min(4.0, max(1.1, 0.5 * self._tokens_per_word + 0.5 * measured))

    def _document_done(self, texts: list[str], target: int, started: float, tokens: int) -> DocumentDone:
        text = "\n\n".join(t for t in texts if t)
        words = count_words(text)
        return DocumentDone(
            text=text,
            words=words,
            target_words=target,
            length_score=length_score(target, words),
            seconds=time.monotonic() - started,
            tokens=tokens,
        )


def _without_leaks(text: str, prefix: str, end: int) -> str | None:
    """``text[:end]`` with the prompt text the model wrote after ``prefix`` removed; None if it wrote none."""
    cleaned = remove_leaks(text[len(prefix) : end], PROMPT_WORDING)
    return prefix + cleaned.text if cleaned.removed else None


def _channels(piece: str, splitter: ThinkSplitter | None) -> list[tuple[str, str]]:
    """Route a raw piece to ("text", …) or, for think formats, ("reasoning", …) as well."""
    return splitter.feed(piece) if splitter else [("text", piece)]
