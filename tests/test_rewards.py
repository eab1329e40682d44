"""GRPO rewards and length targets on crafted texts: on target vs far off, varied vs repeated, good vs broken format."""

from __future__ import annotations

import itertools

import pytest

from longwriter.text import count_words, length_score
from training.config import RewardWeights
from training.rewards import (
    answer_text,
    format_reward,
    length_reward,
    range_score,
    redundancy_penalty,
    reward_functions,
)
from training.targets import LengthTarget, length_target, stated_length

ENGLISH = (
    "The harbour town wakes slowly in winter. Fishermen check their nets under yellow lamps while the bakery on the "
    "corner pushes the smell of rye bread into the fog. By eight the ferry has left for the islands, carrying a "
    "doctor, two students and a crate of oranges. Children walk to school along the sea wall, daring each other to "
    "stand where the spray reaches. In the afternoon the light turns silver and the gulls quarrel over the catch. "
    "Old men play cards in the café and argue about the weather, which they have predicted wrongly for fifty years. "
    "When night falls the lighthouse begins its patient sweep, and the town folds itself back into sleep."
)
CHINESE = (
    "冬天的港口小镇醒得很慢。渔民在昏黄的灯下检查渔网，街角的面包店把黑麦面包的香味送进雾里。八点钟，渡船驶向海岛，"
    "船上有一位医生、两个学生和一箱橙子。孩子们沿着海堤去上学，互相打赌谁敢站在浪花溅到的地方。下午，光线变成银色，"
    "海鸥为了渔获争吵不休。老人们在咖啡馆里打牌，议论天气。夜幕降临，灯塔开始耐心地转动，小镇又沉入梦乡。"
)


def varied_words(n: int) -> str:
    """``n`` distinct made-up words: long prose with no repeated n-gram at all."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du", "fe", "go", "hi", "ju", "pa", "qe"]
    words = ("".join(parts) for parts in itertools.product(syllables, repeat=3))
    return " ".join(itertools.islice(words, n)) + "."


def call(func, completions, **columns):
    """Call a reward the way GRPOTrainer does: prompts, completions, completion_ids and every column."""
    return func(
        prompts=["p"] * len(completions),
        completions=completions,
        completion_ids=[[1, 2]] * len(completions),
        trainer_state=None,
        **columns,
    )


# -- length -------------------------------------------------------------------------------------------


def test_range_score_is_full_inside_the_range_and_falls_off_outside() -> None:
    assert range_score(100, 90, 110) == range_score(90, 90, 110) == range_score(110, 90, 110) == 1.0
    assert 0 < range_score(150, 90, 110) < 1
    assert range_score(150, 90, 110) > range_score(300, 90, 110) > range_score(400, 90, 110) > 0
    assert range_score(440, 90, 110) == 0.0  # 4x the upper bound
    assert range_score(30, 90, 110) == 0.0  # a third of the lower bound
    assert range_score(0, 90, 110) == 0.0


@pytest.mark.parametrize("produced", [30, 80, 120, 200, 500])
def test_an_exact_target_is_scored_with_longbench_s_l(produced: int) -> None:
    assert range_score(produced, 120, 120) == pytest.approx(length_score(120, produced) / 100)


@pytest.mark.parametrize("text", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_length_reward_prefers_on_target_over_far_off(text: str) -> None:
    words = count_words(text)
    on_target = call(length_reward, [text], min_words=[int(words * 0.9)], max_words=[int(words * 1.1)])
    far_off = call(length_reward, [text], min_words=[words * 5], max_words=[words * 6])
    assert on_target == [1.0]
    assert far_off[0] < 0.1


def test_chinese_length_counts_characters() -> None:
    assert call(length_reward, [CHINESE], min_words=[130], max_words=[160]) == [1.0]  # 143 characters
    assert call(length_reward, [CHINESE], min_words=[1500], max_words=[2200])[0] == 0.0


def test_length_cannot_be_bought_with_repetition() -> None:
    varied = varied_words(600)
    looped = " ".join([ENGLISH] * 5)  # about as many words, most of them copies
    assert count_words(looped) >= 500
    rewards = call(length_reward, [varied, looped], min_words=[500, 500], max_words=[700, 700])
    assert rewards[0] == 1.0
    assert rewards[1] < 0.5


def test_length_reward_reads_chat_completions_and_only_the_answer_with_think() -> None:
    chat = [[{"role": "assistant", "content": ENGLISH}]]
    words = count_words(ENGLISH)
    assert call(length_reward, chat, min_words=[words], max_words=[words]) == [1.0]
    thought = f"<think>{varied_words(400)}</think><answer>{ENGLISH}</answer>"
    assert call(length_reward, [thought], min_words=[words], max_words=[words], think=True) == [1.0]
    no_answer = f"<think>{ENGLISH}</think>"
    assert call(length_reward, [no_answer], min_words=[words], max_words=[words], think=True) == [0.0]


# -- repetition ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_redundancy_penalty_spares_varied_text_and_punishes_loops(text: str) -> None:
    varied, looped = call(redundancy_penalty, [text, text * 6])
    assert varied == 0.0
    assert looped < -0.7


def test_redundancy_penalty_uses_the_configured_ngram() -> None:
    text = "one two three four five six seven eight. " * 2 + varied_words(50)
    assert call(redundancy_penalty, [text], ngram=4)[0] < call(redundancy_penalty, [text], ngram=12)[0] <= 0


# -- format ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>plan the story</think>\n<answer>Once upon a time.</answer>", 1.0),
        (" <think>先构思</think> <answer>从前有一座山。</answer>\n", 1.0),
        ("<think>plan</think>", 0.0),
        ("<answer>Once upon a time.</answer>", 0.0),
        ("<answer>story</answer><think>plan</think>", 0.0),
        ("<think>a</think><think>b</think><answer>story</answer>", 0.0),
        ("<think>plan</think><answer>story</answer> and then more text", 0.0),
        ("<think>plan</think><answer>   </answer>", 0.0),
        ("<think>plan</think><answer>one</answer><answer>two</answer>", 0.0),
        ("Once upon a time.", 0.0),
    ],
)
def test_format_reward(completion: str, expected: float) -> None:
    assert call(format_reward, [completion]) == [expected]


def test_answer_text_keeps_only_the_answer() -> None:
    assert answer_text("<think>x</think><answer>The text.</answer> trailing") == "The text."
    assert answer_text("no tags at all") == ""


# -- the reward set ----------------------------------------------------------------------------------------


def _names(funcs: list) -> list[str]:
    return [f if isinstance(f, str) else getattr(f, "func", f).__name__ for f in funcs]


def test_reward_functions_follow_weights_and_format() -> None:
    funcs, weights = reward_functions(RewardWeights(), think=False)
    assert _names(funcs) == ["length_reward", "redundancy_penalty"]
    assert weights == [1.0, 1.0]

    funcs, weights = reward_functions(
        RewardWeights(length=2.0, redundancy=0.0, format=0.5, quality=0.3, quality_model="/models/rm"), think=True
    )
    assert _names(funcs) == ["length_reward", "format_reward", "/models/rm"]
    assert weights == [2.0, 0.5, 0.3]

    with pytest.raises(ValueError, match="at least one"):
        reward_functions(RewardWeights(length=0, redundancy=0), think=False)


# -- length targets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Write a 2,000-word story about a lighthouse.", (2000, 2000)),
        ("Write an essay of about 800 words.", (800, 800)),
        ("Write between 1000 and 1500 words on rivers.", (1000, 1500)),
        ("Describe Paris in 300-500 words.", (300, 500)),
        ("Write 3 poems, 200 words in total.", (200, 200)),
        ("写一篇5000字的科幻小说。", (5000, 5000)),
        ("请写一篇不少于3000字的报告", (3000, 3000)),
        ("写一篇2万字的小说", (20000, 20000)),
        ("用800到1000字介绍长城。", (800, 1000)),
        ("Write a story about the 1990s.", None),
        ("写一篇关于汉字的文章", None),
    ],
)
def test_stated_length(instruction: str, expected: tuple[int, int] | None) -> None:
    found = stated_length(instruction)
    assert ((found.low, found.high) if found else None) == expected


def test_length_target_prefers_the_column_then_the_instruction_then_the_default() -> None:
    def target(instruction: str, column: int | None) -> LengthTarget:
        return length_target(instruction, target=column, tolerance=0.1, default=(1000, 3000))

    assert target("Write 500 words on tea.", 2000) == LengthTarget(1800, 2200)
    assert target("Write 500 words on tea.", None) == LengthTarget(450, 550)
    assert target("Write 400-600 words on tea.", None) == LengthTarget(400, 600)
    assert target("Write about tea.", None) == LengthTarget(1000, 3000)
    assert length_target("Write 500 words.", target=None, tolerance=0, default=(1, 2)) == LengthTarget(500, 500)
