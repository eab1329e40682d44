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


def section_range(target_words: int) -> tuple[int, int]:
    """How many sections a plan for ``target_words`` words may have: AgentWrite's 200–1,000 words each.

    A document that can hold two paragraphs of 200 words needs at least two: a single row is one
    pass, not a plan. So a 600-word document has 2–3 sections and a 5,000-word one 5–25.
    """
    low = min(MAX_SECTIONS, max(-(-target_words // 1000), min(2, target_words // 200), 1))
    high = min(MAX_SECTIONS, max(low, target_words // 200))
    return low, high


def _count(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low} to {high}"


def plan_prompt(instruction: str, target_words: int) -> str:
    """The planning prompt: one line per paragraph, budgets summing to the target.

    The answer is opened for the model with ``Paragraph 1 - Main Point:`` (see
    :data:`longwriter.prompts.PLAN_OPENING`). The line format names its slots in plain words,
    with no angle brackets to copy; a worked line on another subject was tried and the embedded
    135M model planned that subject instead of the task (2 of 3 tasks), so there is none.
    """
    count = _count(*section_range(target_words))
    return (
        "You are planning a long piece of writing before it is written.\n\n"
        f"Writing task:\n{instruction.strip()}\n\n"
        f"Plan this task in {count} paragraphs whose word counts add up to about {target_words} words, each "
        "between 200 and 1000 words. Write one line per paragraph: the words 'Paragraph', its number, "
        "'Main Point:', what that paragraph of this task says, specifically, then 'Word Count:' and its number "
        "of words. No two main points are alike. Answer with the plan only."
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


def accept_plan(raw: str, instruction: str, target_words: int) -> Plan:
    """The model's outline as a plan to follow, or :class:`PlanError` saying why it is not one.

    A small model asked for a plan often answers with something shaped like one that is not:
    the prompt's own wording or placeholders echoed back, the same point twice, a point with no
    words, one row for a document that needs several (which silently turns AgentWrite into a
    single pass), or more rows than the length can give :data:`MIN_SECTION_WORDS` each. Those are
    refused here so the writer can ask again or fall back to
    :func:`fallback_plan`, and say which it did.
    """
    plan = parse_plan(raw)
    template = _units(plan_prompt("", target_words))
    task = _units(instruction)
    seen: dict[tuple[str, ...], int] = {}
    for number, section in enumerate(plan.sections, start=1):
        point = section.main_point
        units = tuple(_units(point))
        if not any(ch.isalpha() for ch in point):
            raise PlanError(f"Section {number} of the outline has no main point.")
        if _PLACEHOLDER.search(point) or _echoes(units, template, task):
            raise PlanError(f"Section {number} of the outline repeats the prompt's template instead of a point.")
        if units in seen:
            raise PlanError(f"Sections {seen[units]} and {number} of the outline have the same main point.")
        seen[units] = number
    if not _on_topic(plan, instruction):
        raise PlanError("None of the outline's points is about the task: it plans something else.")
    low, high = section_range(target_words)
    count = len(plan.sections)
    if count < low or count > max(high, target_words // MIN_SECTION_WORDS):
        raise PlanError(
            f"The outline has {count} section{'s' if count != 1 else ''}; "
            f"a {target_words}-word document needs {_count(low, high)} (200–1,000 words each)."
        )
    return normalize_budget(plan, target_words)


_PLACEHOLDER = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\{[^{}]*\}|^\W*(?:\.\.\.|…)\W*$")
"""A template slot (``<…>``, ``[…]``, ``{…}``) or a bare ellipsis where a point should be."""
_UNIT = re.compile(r"[\u4e00-\u9fff]|[^\W_]+")
ECHO_RUN = 4
"""A point sharing this many words in a row with the planning prompt's own wording copies it."""


def _units(text: str) -> list[str]:
    return [u.lower() for u in _UNIT.findall(text)]


def _echoes(point: tuple[str, ...], template: list[str], task: list[str]) -> bool:
    """Whether a point copies the planning prompt's own wording (not the task's): a run of
    :data:`ECHO_RUN` words found in the template, or a shorter point found there whole."""
    runs = [point] if len(point) <= ECHO_RUN else [point[i : i + ECHO_RUN] for i in range(len(point) - ECHO_RUN + 1)]
    return any(run and _contains(template, run) and not _contains(task, run) for run in runs)


_COMMON = frozenset(
    [
        "about",
        "also",
        "based",
        "been",
        "being",
        "between",
        "both",
        "could",
        "does",
        "each",
        "from",
        "have",
        "into",
        "just",
        "like",
        "more",
        "most",
        "much",
        "must",
        "only",
        "other",
        "over",
        "same",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "very",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "write",
        "written",
        "your",
        "words",
        "word",
        "paragraph",
        "paragraphs",
        "text",
        "piece",
        "essay",
        "article",
        "document",
    ]
)
"""Words a task and an unrelated outline share without being about the same thing."""


def _topic_keys(text: str) -> set[str]:
    """What a text is about, roughly: content words (by their first five letters, so "share" meets
    "sharing") and, for Chinese, pairs of adjacent characters."""
    units = _units(text)
    words = {u[:5] for u in units if u.isalpha() and len(u) >= 4 and u not in _COMMON and u.isascii()}
    cjk = "".join(u for u in units if "\u4e00" <= u <= "\u9fff")
    return words | {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def _on_topic(plan: Plan, instruction: str) -> bool:
    """Whether some point of the plan shares a content word with the task (a plan about libraries
    for a fable about a crow is the model copying an example, not planning)."""
    task = _topic_keys(instruction)
    return not task or any(_topic_keys(s.main_point) & task for s in plan.sections)


def _contains(units: list[str], run: tuple[str, ...]) -> bool:
    n = len(run)
    return any(tuple(units[i : i + n]) == run for i in range(len(units) - n + 1))


def section_count_for(target_words: int) -> int:
    """How many sections the default plan has: about 400 words each, within :func:`section_range`."""
    low, high = section_range(target_words)
    return max(low, min(high, round(target_words / 400)))


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
