"""The AgentWrite plan: sections with a main point and a word budget, its prompt and its parser.

A plan is what the user edits before anything expensive runs, so everything here is tolerant
on input (models and people write plans in many shapes) and strict on output (budgets that
sum to the target, a bounded number of sections, no empty points).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

MIN_SECTION_WORDS = 100
MAX_SECTION_WORDS = 1500
MAX_SECTIONS = 50
"""The paper drops plans of more than 50 steps; a longer plan is a collapse, not an outline."""


class PlanError(ValueError):
    """A plan that cannot be written as it stands; the message is meant for the user."""


class Section(BaseModel):
    """One step of the plan: what the paragraph says and how many words it gets."""

    main_point: str = Field(min_length=1)
    words: int = Field(gt=0)


class Plan(BaseModel):
    """An ordered outline whose section budgets are the document's length plan."""

    sections: list[Section]

    @property
    def total_words(self) -> int:
        return sum(s.words for s in self.sections)

    def to_text(self) -> str:
        """Render in the canonical one-line-per-paragraph form used in every write prompt."""
        return "\n".join(
            f"Paragraph {i} - Main Point: {s.main_point} - Word Count: {s.words} words"
            for i, s in enumerate(self.sections, start=1)
        )


def plan_prompt(instruction: str, target_words: int) -> str:
    """The planning prompt: one line per paragraph, budgets summing to the target."""
    return (
        "You are planning a long piece of writing before it is written.\n\n"
        f"Writing task:\n{instruction.strip()}\n\n"
        f"The finished text should be about {target_words} words long. Break it into paragraphs "
        "(sections) and give each one a main point and a word count between "
        f"{MIN_SECTION_WORDS} and 1000 words, so that the word counts add up to about {target_words}.\n"
        "Answer with the plan only, one line per paragraph, in exactly this form:\n"
        "Paragraph 1 - Main Point: <what this paragraph covers, in detail> - Word Count: <N> words\n"
        "Paragraph 2 - Main Point: <...> - Word Count: <N> words\n"
        "Cover the whole task and nothing else."
    )


_LINE = re.compile(
    r"""^\W*                                   # bullets, markdown, quotes
        (?:paragraph|section|part|step|段落|第)\s*
        (?P<num>\d+)\s*[段部分]?\s*
        [\-–—:：.,，、)\]]*\s*
        (?:\**\s*main\s*point\s*\**\s*[:：]\s*|主要内容\s*[:：]\s*|要点\s*[:：]\s*)?
        (?P<point>.*?)
        \s*[\-–—,，;；|(（]*\s*\**\s*
        (?:word\s*count|words?|字数)\s*\**\s*[:：]?\s*
        (?P<words>\d[\d,，]*)\s*(?:words?|字)?\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


_POINT_ONLY = re.compile(
    r"""^\W*(?:paragraph|section|part|step|段落|第)\s*\d+\s*[段部分]?\s*[\-–—:：.)\]]+\s*
        (?:main\s*point\s*[:：]\s*|主要内容\s*[:：]\s*|要点\s*[:：]\s*)?
        (?P<point>\S.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
MAX_POINT_CHARS = 300


def parse_plan(text: str) -> Plan:
    """Parse a model's plan, tolerating prose, markdown, dashes, commas in numbers and CJK.

    Lines that do not look like plan steps are ignored. Steps without a word count (small models
    often drop it) get the mean of the counts that were given, so normalisation splits the
    target evenly between them. Raises :class:`PlanError` when no step could be read, so the
    caller can fall back to :func:`fallback_plan`.
    """
    steps: list[tuple[str, int | None]] = []
    for raw in text.splitlines():
        line = raw.strip().replace("**", "")
        if not line:
            continue
        if match := _LINE.match(line):
            words: int | None = int(re.sub(r"[,，]", "", match.group("words")))
        elif match := _POINT_ONLY.match(line):
            words = None
        else:
            continue
        point = _short_point(match.group("point"))
        if point and words != 0:
            steps.append((point, words))
    if not steps:
        raise PlanError("The plan has no lines of the form 'Paragraph N - Main Point: … - Word Count: N words'.")
    if len(steps) > MAX_SECTIONS:
        raise PlanError(f"The plan has {len(steps)} sections; at most {MAX_SECTIONS} can be written.")
    known = [w for _, w in steps if w]
    default = round(sum(known) / len(known)) if known else 1
    return Plan(sections=[Section(main_point=p, words=w or default) for p, w in steps])


def _short_point(point: str) -> str:
    """A main point trimmed of separators and, when a model rambles, cut to its first sentences."""
    point = point.strip(" -–—:：*")
    if len(point) <= MAX_POINT_CHARS:
        return point
    cut = max(point.rfind(mark, 0, MAX_POINT_CHARS) for mark in (". ", "。", "; ", "！", "? "))
    return point[: cut + 1].strip() if cut > 40 else point[:MAX_POINT_CHARS].rsplit(" ", 1)[0] + "…"


def plan_from_model(raw: str, instruction: str, target_words: int) -> tuple[Plan, bool]:
    """The plan to follow given a model's raw outline: ``(plan, used_fallback)``.

    A parsed plan is used when it has enough sections for its budget (at most ~1000 words each,
    the paper's range); otherwise the model did not really plan and :func:`fallback_plan` is used.
    """
    try:
        plan = parse_plan(raw)
    except PlanError:
        return fallback_plan(instruction, target_words), True
    if len(plan.sections) < -(-target_words // 1000):
        return fallback_plan(instruction, target_words), True
    return normalize_budget(plan, target_words), False


def section_count_for(target_words: int) -> int:
    """How many sections a document of ``target_words`` should have (about 400 words each)."""
    return max(1, min(MAX_SECTIONS, round(target_words / 400)))


def fallback_plan(instruction: str, target_words: int) -> Plan:
    """A plain, always-valid plan for when the model's plan is unusable.

    Small models often produce no parsable outline; the writer still needs sections whose
    budgets add up, so this splits the task into an introduction, body parts and a conclusion.

    The write prompt always carries the instruction itself, so the points can stay generic.
    """
    n = section_count_for(target_words)
    if n == 1:
        points = ["The whole piece: address every part of the task in one continuous text"]
    else:
        body = [
            f"Body part {i} of {n - 2}: develop a distinct aspect of the subject in depth, with concrete detail"
            for i in range(1, n - 1)
        ]
        points = [
            "Opening: introduce the subject, why it matters and what the document will cover",
            *body,
            "Closing: draw the threads together and conclude the whole document",
        ]
    return normalize_budget(Plan(sections=[Section(main_point=p, words=1) for p in points]), target_words)


def normalize_budget(plan: Plan, target_words: int) -> Plan:
    """Scale section budgets so they sum to ``target_words``, each within the allowed range.

    Proportions the user or model chose are kept; clamping to 100–1500 words can make the
    sum miss the target only when the number of sections makes it impossible.
    """
    if not plan.sections:
        raise PlanError("The plan has no sections.")
    total = plan.total_words or len(plan.sections)
    scaled = [s.words * target_words / total for s in plan.sections]
    words = _round_preserving_sum([min(MAX_SECTION_WORDS, max(MIN_SECTION_WORDS, w)) for w in scaled])
    for _ in range(len(words)):  # redistribute what clamping moved, a few passes suffice
        gap = target_words - sum(words)
        free = [
            i for i, w in enumerate(words) if (gap > 0 and w < MAX_SECTION_WORDS) or (gap < 0 and w > MIN_SECTION_WORDS)
        ]
        if not gap or not free:
            break
        share = gap / len(free)
        # Rounded together, not one by one: per-section rounding can overshoot the gap by one per section.
        moved = _round_preserving_sum([words[i] + share for i in free])
        for i, w in zip(free, moved):
            words[i] = min(MAX_SECTION_WORDS, max(MIN_SECTION_WORDS, w))
    return Plan(sections=[Section(main_point=s.main_point, words=w) for s, w in zip(plan.sections, words)])


def _round_preserving_sum(values: list[float]) -> list[int]:
    """Round to integers whose sum equals the rounded sum (largest-remainder method)."""
    floors = [int(v) for v in values]
    remainder = round(sum(values)) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: values[i] - floors[i], reverse=True)
    for i in order[: max(0, remainder)]:
        floors[i] += 1
    return floors


def validate_rows(rows: list[tuple[str, object]]) -> Plan:
    """Build a plan from user-edited (main point, words) rows, with a clear message per problem."""
    if not rows:
        raise PlanError("The plan needs at least one section.")
    if len(rows) > MAX_SECTIONS:
        raise PlanError(f"The plan has {len(rows)} sections; at most {MAX_SECTIONS} are allowed.")
    sections = []
    for i, (point, words) in enumerate(rows, start=1):
        point = str(point or "").strip()
        if not point:
            raise PlanError(f"Section {i} has no main point.")
        try:
            count = int(str(words).replace(",", "").strip())
        except ValueError:
            raise PlanError(f"Section {i}: word count '{words}' is not a whole number.") from None
        if count < 1:
            raise PlanError(f"Section {i}: word count must be positive, not {count}.")
        if count > MAX_SECTION_WORDS * 10:
            raise PlanError(f"Section {i}: {count} words is far beyond one section; split it.")
        sections.append(Section(main_point=point, words=count))
    return Plan(sections=sections)
