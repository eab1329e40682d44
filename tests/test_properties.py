"""Property-based tests (hypothesis): arbitrary text through the plan parser, the budget rules, word
counting and the Markdown sanitiser.

Hand-picked cases (tests/test_plan.py, tests/test_text.py) show the intended shapes; these throw
whatever hypothesis can think of at the same functions and check the promises that must hold for
any input: nothing raises but the documented error, budgets add up, limits hold, and sanitised
HTML never carries a live element or attribute. Bounded example counts keep them in the fast lane.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longwriter.documents import render_markdown, sanitize_html
from longwriter.plan import (
    MAX_POINT_CHARS,
    MAX_SECTION_WORDS,
    MAX_SECTIONS,
    MIN_SECTION_WORDS,
    Plan,
    PlanError,
    Section,
    accept_plan,
    fallback_plan,
    normalize_budget,
    parse_plan,
    validate_rows,
)
from longwriter.text import count_words, cut_at_sentence, length_score

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ----------------------------------------------------------------------------------

PLAN_PIECES = [
    "Paragraph ",
    "Section ",
    "第",
    "段 ",
    "- Main Point: ",
    "主要内容：",
    " - Word Count: ",
    "字数：",
    " words",
    "字",
    "\n",
    "**",
    "1",
    "2",
    "300",
    "1,200",
    "0",
    "99999999999999999999",
    "<N>",
    "<what this paragraph covers, in detail>",
    " – ",
    "—",
    ":",
    "tea",
    "长城",
    "\u200b",
    "\x00",
    "\r\n",
]
"""Fragments of plan lines, so generated text often comes close to a plan (pure noise rarely does)."""

plan_like = st.lists(st.one_of(st.sampled_from(PLAN_PIECES), st.text(max_size=12)), max_size=60).map("".join)
any_text = st.one_of(st.text(max_size=400), plan_like)
targets = st.integers(min_value=100, max_value=100_000)

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<style>body{background:url(https://evil.example/x)}</style>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "[click](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "[x]: javascript:alert(1)\n\n[ref][x]",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<iframe src=https://evil.example></iframe>",
    '<form action="https://evil.example"><input></form>',
    "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
    "<details open ontoggle=alert(1)>",
    '<a href="https://ok.example" onclick="alert(1)" target=_blank>ok</a>',
    "<object data=x></object><embed src=x>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content=0;url=https://evil.example>",
    "`<script>` and <code>&lt;b&gt;</code>",
    "<!-- <script>alert(1)</script> -->",
    "<<script>script>alert(1)<</script>/script>",
]
markdown_with_payloads = st.lists(
    st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=30), st.sampled_from(["\n\n", "# ", "* ", "> ", "`"])),
    max_size=25,
).map("".join)

# -- what a "live" HTML element or attribute is ---------------------------------------------------

SAFE_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "ins", "mark",
    "sub", "sup", "small", "blockquote", "q", "cite", "code", "pre", "kbd", "samp", "ul", "ol", "li", "dl", "dt",
    "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "a", "abbr", "span",
}  # fmt: skip
"""Written out here rather than imported: the test states the promise, the code keeps it."""
SAFE_ATTRIBUTES = {"href", "title", "rel", "start", "colspan", "rowspan", "align"}
SAFE_SCHEMES = re.compile(r"^(?:https?:|mailto:|[^:]*$)", re.IGNORECASE)


class LiveMarkup(HTMLParser):
    """Collects every element and attribute a browser would act on, as the browser parses them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name not in SAFE_ATTRIBUTES:
                self.problems.append(f"attribute {name}= on <{tag}>")
            elif name == "href":
                # Browsers drop tabs and newlines inside URLs before reading the scheme.
                url = re.sub(r"[\x00-\x20]", "", value or "")
                if not SAFE_SCHEMES.match(url):
                    self.problems.append(f"link {value!r}")

    handle_startendtag = handle_starttag


def live_markup(fragment: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(fragment)
    parser.close()
    return parser.problems


# -- the plan parser --------------------------------------------------------------------------------


@FAST
@given(any_text)
def test_parse_plan_reads_a_bounded_plan_or_refuses_plainly(text: str) -> None:
    try:
        plan = parse_plan(text)
    except PlanError as exc:
        assert str(exc), "a refusal says why"
        return
    assert 1 <= len(plan.sections) <= MAX_SECTIONS
    for section in plan.sections:
        assert section.main_point.strip() and section.words > 0
        assert len(section.main_point) <= MAX_POINT_CHARS + 1  # a cut point ends with "…"


@FAST
@given(any_text, st.text(max_size=200), targets)
def test_a_model_outline_becomes_a_writable_plan_or_the_fallback(raw: str, instruction: str, target: int) -> None:
    """What the writer does with any outline: accept it, or refuse it plainly and use the fallback."""
    try:
        plan = accept_plan(raw, instruction, target)
    except PlanError as exc:
        assert str(exc)
        plan = fallback_plan(instruction, target)
    assert 1 <= len(plan.sections) <= MAX_SECTIONS
    assert all(MIN_SECTION_WORDS <= s.words <= MAX_SECTION_WORDS for s in plan.sections)
    n = len(plan.sections)
    if n * MIN_SECTION_WORDS <= target <= n * MAX_SECTION_WORDS:
        assert plan.total_words == target


@FAST
@given(st.lists(st.tuples(st.one_of(st.text(max_size=20), st.integers(), st.none()), st.text(max_size=8)), max_size=60))
def test_validate_rows_builds_a_plan_or_explains(rows: list[tuple[object, object]]) -> None:
    try:
        plan = validate_rows([(point, words) for point, words in rows])  # type: ignore[misc]
    except PlanError as exc:
        assert str(exc)
        return
    assert 1 <= len(plan.sections) <= MAX_SECTIONS
    assert all(s.main_point.strip() and 0 < s.words <= MAX_SECTION_WORDS * 10 for s in plan.sections)


# -- budget normalisation ---------------------------------------------------------------------------


@FAST
@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=MAX_SECTIONS), targets)
def test_normalized_budgets_sum_to_the_target_within_limits(words: list[int], target: int) -> None:
    plan = Plan(sections=[Section(main_point=f"point {i}", words=w) for i, w in enumerate(words)])
    normalized = normalize_budget(plan, target)
    budgets = [s.words for s in normalized.sections]
    assert [s.main_point for s in normalized.sections] == [s.main_point for s in plan.sections]
    assert all(MIN_SECTION_WORDS <= w <= MAX_SECTION_WORDS for w in budgets)
    n = len(budgets)
    if n * MIN_SECTION_WORDS <= target <= n * MAX_SECTION_WORDS:
        assert sum(budgets) == target
    elif target < n * MIN_SECTION_WORDS:
        assert budgets == [MIN_SECTION_WORDS] * n
    else:
        assert budgets == [MAX_SECTION_WORDS] * n


@FAST
@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=10), st.integers(1, 4))
def test_normalization_keeps_the_order_of_proportions(words: list[int], scale: int) -> None:
    """A larger section never ends up with fewer words than a smaller one (rounding aside)."""
    plan = Plan(sections=[Section(main_point=f"p{i}", words=w) for i, w in enumerate(words)])
    target = min(len(words) * MAX_SECTION_WORDS, max(len(words) * MIN_SECTION_WORDS, sum(words) * scale))
    budgets = [s.words for s in normalize_budget(plan, target).sections]
    for (a, ba), (b, bb) in zip(zip(words, budgets), zip(words[1:], budgets[1:])):
        if a > b:
            assert ba >= bb - 1
        elif b > a:
            assert bb >= ba - 1


# -- word counting ---------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=300), st.text(max_size=300))
def test_word_counts_add_up_across_a_space(a: str, b: str) -> None:
    assert count_words(a + " " + b) == count_words(a) + count_words(b)
    assert 0 <= count_words(a) <= len(a)


@FAST
@given(
    st.lists(st.sampled_from(["tea", "Tea", "長", "长", "城", "don't", "42", "é", " ", "\n", ",", "-"]), max_size=80)
)
def test_word_count_is_latin_words_plus_cjk_characters(units: list[str]) -> None:
    text = "".join(units)
    cjk = sum(ch in "长城長" for ch in text)  # 長 (U+9577) is in the CJK block too
    latin = len(re.findall(r"\b[a-zA-Z]+\b", text))
    assert count_words(text) == cjk + latin


@FAST
@given(st.integers(1, 10**6), st.integers(0, 10**7))
def test_length_score_is_a_bounded_score_peaking_on_target(required: int, actual: int) -> None:
    score = length_score(required, actual)
    assert 0.0 <= score <= 100.0
    assert (score == 100.0) == (actual == required)


@FAST
@given(st.text(max_size=400), st.one_of(st.none(), st.integers(1, 100)))
def test_cut_at_sentence_keeps_a_prefix_within_the_limit(text: str, limit: int | None) -> None:
    cut = cut_at_sentence(text, limit)
    assert text.startswith(cut)
    if limit is not None:
        assert count_words(cut) <= max(limit, 0) or count_words(text) <= limit


# -- the Markdown sanitiser --------------------------------------------------------------------------


@FAST
@given(markdown_with_payloads)
def test_rendered_markdown_never_carries_live_markup(text: str) -> None:
    rendered = render_markdown(text)
    assert live_markup(rendered) == [], rendered


@FAST
@given(st.one_of(st.text(max_size=300), markdown_with_payloads))
def test_sanitised_html_never_carries_live_markup(fragment: str) -> None:
    cleaned = sanitize_html(fragment)
    assert live_markup(cleaned) == [], cleaned
    assert sanitize_html(cleaned) == cleaned, "sanitising is idempotent: nothing left to remove"


@FAST
@given(st.text(alphabet=st.characters(blacklist_characters="<>&`*_[]()#!\\|~-+=.:{}"), max_size=200))
def test_plain_prose_survives_rendering(text: str) -> None:
    """The sanitiser removes markup, never ordinary words."""
    words = re.findall(r"[A-Za-z]{3,}", text)
    rendered = render_markdown(text)
    for word in words:
        assert word in rendered
