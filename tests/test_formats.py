"""Prompt formats against their specifications, on CPU, with tokenizers built here (never from the Hub).

Each LongWriter family is checked against what its authors' own code feeds the model:

* GLM-4: ``ChatGLM4Tokenizer.build_chat_input`` assembles ids piece by piece (prefix tokens, role
  token, ``encode(metadata + "\\n")``, ``encode(content)``, ``<|assistant|>``); ``glm4_reference``
  below does the same with the fixture tokenizer, and the rendered text must tokenize to those ids.
* LongWriter-llama3.1-8b: ``evaluation/pred.py`` tokenizes ``f"[INST]{prompt}[/INST]"`` with the
  tokenizer's defaults, which for Llama 3 prepend ``<|begin_of_text|>``.
* LongWriter-Zero: the model card's template, English or Chinese by the card's CJK rule.

The fixture tokenizers are byte-level BPEs trained on a few sentences with the pre-tokenizer regex
that GLM-4, Llama 3 and Qwen2 share, so token boundaries behave like the real ones.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from longwriter.catalog import BUILTIN
from longwriter.formats import (
    CHAT_TEMPLATE,
    FORMATS,
    GLM4,
    GLM4_SPECIAL_TOKENS,
    LLAMA_INST,
    ZERO_THINK,
    ThinkSplitter,
)

PRE_TOKENIZER_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
"""GLM-4's pattern (tokenization_chatglm.py), also Llama 3's and, but for single digits, Qwen2's."""
CORPUS = [
    "Write a 10000-word China travel guide.\n\nParagraph 1 - Main Point: the Great Wall - Word Count: 800 words",
    "You are a careful writer. Keep every section on topic.\n",
    "写一篇关于长城的文章，一万字。每一段都要有小标题。",
    "Once upon a time there was a cat who wrote novels at night.\n",
]
PROMPTS = [
    "Write a 10000-word China travel guide",
    "写一篇一万字的中国旅游指南",
    "Explain {braces}, <tags> and [INST] markers literally.",
]
LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]


def build_tokenizer(folder: Path, specials: list[str], *, prefix: list[str] | None = None, **kwargs: Any) -> Any:
    """Train a tiny byte-level BPE, save it as a Hugging Face tokenizer folder and load it back.

    ``prefix`` plays the tokenizer's own special-token insertion (Llama's BOS, GLM's ``[gMASK]<sop>``)
    when it is called with its default ``add_special_tokens=True``.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRE_TOKENIZER_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 10, trainer)
    if prefix:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=" ".join([*prefix, "$A"]), special_tokens=[(t, tokenizer.token_to_id(t)) for t in prefix]
        )
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, **kwargs).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def glm_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("glm4-tokenizer")
    return build_tokenizer(folder, list(GLM4_SPECIAL_TOKENS), prefix=["[gMASK]", "<sop>"], eos_token="<|endoftext|>")


@pytest.fixture(scope="module")
def llama_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("llama-tokenizer")
    return build_tokenizer(
        folder, LLAMA_SPECIALS, prefix=["<|begin_of_text|>"], bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>"
    )


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` alone: no BOS, no prefix (the contract for rendered prompts)."""
    return list(tokenizer(text, add_special_tokens=False).input_ids)


def glm4_reference(tokenizer: Any, query: str, system: str | None = None) -> list[int]:
    """The ids ``build_chat_input(query, history=[system?])`` produces, rebuilt with the fixture."""
    ids = tokenizer.convert_tokens_to_ids

    def message(role: str, content: str) -> list[int]:
        return [ids(f"<|{role}|>"), *encode(tokenizer, "\n"), *encode(tokenizer, content)]

    history = message("system", system) if system else []
    return [ids("[gMASK]"), ids("<sop>"), *history, *message("user", query), ids("<|assistant|>")]


# -- GLM-4 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("system", [None, "You are a careful writer."])
def test_glm4_prompt_tokenizes_like_build_chat_input(glm_tokenizer: Any, prompt: str, system: str | None) -> None:
    text = GLM4.render(prompt, system=system)
    assert encode(glm_tokenizer, text) == glm4_reference(glm_tokenizer, prompt, system)


def test_glm4_prompt_text_and_special_tokens(glm_tokenizer: Any) -> None:
    text = GLM4.render("Write a poem", system="Be brief.")
    assert text == "[gMASK]<sop><|system|>\nBe brief.<|user|>\nWrite a poem<|assistant|>"
    tokens = glm_tokenizer.convert_ids_to_tokens(encode(glm_tokenizer, text))
    for special in ("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>"):
        assert tokens.count(special) == 1  # one id each, never split into pieces
    assert glm_tokenizer.decode(encode(glm_tokenizer, text)) == text


def test_glm4_prompt_must_not_get_the_prefix_twice(glm_tokenizer: Any) -> None:
    """Why rendered prompts go out with ``add_special_tokens=False``: the tokenizer would add [gMASK]<sop> again."""
    ids = glm_tokenizer(GLM4.render("Write a poem")).input_ids
    assert glm_tokenizer.convert_ids_to_tokens(ids)[:4] == ["[gMASK]", "<sop>", "[gMASK]", "<sop>"]


def test_glm4_assistant_prefix_continues_after_the_models_own_newline(glm_tokenizer: Any) -> None:
    prefix = "Once upon a time"
    text = GLM4.render("Tell a story", assistant_prefix=prefix)
    assert text.endswith("<|assistant|>\nOnce upon a time")
    # An answer in training is <|assistant|> + encode("\n") + encode(content); a prefix is that answer's start.
    expected = (
        glm4_reference(glm_tokenizer, "Tell a story") + encode(glm_tokenizer, "\n") + encode(glm_tokenizer, prefix)
    )
    assert encode(glm_tokenizer, text) == expected


def test_glm4_stops_on_the_token_ids_the_authors_use() -> None:
    # THUDM's vllm_inference.py stops on eos, <|user|> and <|observation|>; in GLM-4's vocabulary
    # those are ids 151329, 151336 and 151338 (the eos_token_id list of glm-4-9b-chat).
    assert GLM4.extra_stop_ids == (151329, 151336, 151338)
    assert set(GLM4.stop) == {"<|endoftext|>", "<|user|>", "<|observation|>"}
    assert GLM4.api == "completion"


# -- LongWriter-llama3.1-8b ----------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", PROMPTS)
def test_llama_prompt_tokenizes_like_the_authors_pred_script(llama_tokenizer: Any, prompt: str) -> None:
    reference = llama_tokenizer(f"[INST]{prompt}[/INST]").input_ids  # pred.py: tokenizer defaults, so BOS first
    assert encode(llama_tokenizer, LLAMA_INST.render(prompt)) == reference
    assert llama_tokenizer.convert_ids_to_tokens(reference)[0] == "<|begin_of_text|>"


def test_llama_system_block_comes_before_inst(llama_tokenizer: Any) -> None:
    text = LLAMA_INST.render("Write a poem", system="Be brief.")
    assert text == "<|begin_of_text|><<SYS>>\nBe brief.\n<</SYS>>\n\n[INST]Write a poem[/INST]"
    # pre_tokenize_llama3.py: BOS, then the system block and the user turn, each encoded on its own.
    reference = [
        llama_tokenizer.bos_token_id,
        *encode(llama_tokenizer, "<<SYS>>\nBe brief.\n<</SYS>>\n\n"),
        *encode(llama_tokenizer, "[INST]Write a poem[/INST]"),
    ]
    assert encode(llama_tokenizer, text) == reference


def test_llama_prompt_is_not_the_llama31_chat_template() -> None:
    text = LLAMA_INST.render("Hi")
    assert "<|start_header_id|>" not in text and text == "<|begin_of_text|>[INST]Hi[/INST]"
    assert LLAMA_INST.api == "completion" and LLAMA_INST.stop == ("[INST]",)


# -- LongWriter-Zero ---------------------------------------------------------------------------------


def test_zero_english_template_matches_the_model_card() -> None:
    text = ZERO_THINK.render("Write a 500-word story.")
    assert text.startswith("A conversation between the user and the assistant. The user provides a writing/general")
    assert "enclosed within <think> </think> and <answer> </answer> tags, respectively" in text
    # The card's template ends "</answer>  <|user|>: {question} <|assistant|>:" (two spaces, as published).
    assert text.endswith("refinement.</answer>  <|user|>: Write a 500-word story. <|assistant|>:")
    assert text.count("Write a 500-word story.") == 1


@pytest.mark.parametrize("prompt", ["写一篇五百字的故事。", "Write about 长城 in English"])
def test_zero_uses_the_chinese_template_for_any_cjk_character(prompt: str) -> None:
    text = ZERO_THINK.render(prompt)
    assert text.startswith("用户与助手之间的对话。")
    assert text.endswith(f"</answer> <|用户|>: {prompt} <|助手|>:")


def test_zero_cjk_rule_is_the_cards_unified_ideograph_range() -> None:
    assert ZERO_THINK.render("ねこについて書いて").startswith("用户")  # 書 is a CJK ideograph
    assert ZERO_THINK.render("ねこ").startswith("A conversation")  # kana alone is not in U+4E00–U+9FFF


def test_zero_system_prompt_goes_first_and_sampling_stops_match_the_card() -> None:
    text = ZERO_THINK.render("Write.", system="House style: British spelling.")
    assert text.startswith("House style: British spelling.\nA conversation between the user")
    assert ZERO_THINK.stop == ("<|user|>", "<|endoftext|>", "</answer>")
    assert ZERO_THINK.think and ZERO_THINK.api == "completion"


# -- the tokenizer's own chat template ---------------------------------------------------------------


def test_chat_template_format_defers_to_the_tokenizer(tmp_path: Path) -> None:
    tokenizer = build_tokenizer(tmp_path, ["<|im_start|>", "<|im_end|>"], eos_token="<|im_end|>")
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    text = CHAT_TEMPLATE.render("Hi", system="Be kind.", assistant_prefix="Hello", tokenizer=tokenizer)
    assert (
        text == "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello"
    )
    assert CHAT_TEMPLATE.messages("Hi", system="Be kind.", assistant_prefix="Hello") == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    with pytest.raises(ValueError, match="needs a tokenizer"):
        CHAT_TEMPLATE.render("Hi")


# -- the catalog uses these formats with the authors' sampling ----------------------------------------


def test_builtin_longwriter_models_carry_their_format_and_recommended_sampling() -> None:
    by_source = {spec.source: spec for spec in BUILTIN}
    expected = {
        "THUDM/LongWriter-glm4-9b": (GLM4, 0.5, 0.8),
        "THUDM/LongWriter-llama3.1-8b": (LLAMA_INST, 0.5, 0.8),
        "THU-KEG/LongWriter-Zero-32B": (ZERO_THINK, 0.6, 0.95),
    }
    for source, (fmt, temperature, top_p) in expected.items():
        spec = by_source[source]
        assert (spec.format, spec.temperature, spec.top_p, spec.context_window) == (fmt, temperature, top_p, 32768)
    assert by_source["THUDM/LongWriter-glm4-9b"].trust_remote_code
    assert set(FORMATS) == {"chat-template", "glm4", "llama-inst", "zero-think"}


# -- the think/answer splitter -------------------------------------------------------------------------

ZERO_OUTPUT = (
    " <think>Plan: 3 parts; keep a < b and <b>bold</b> as they are; mention <answer-like> words.</think>"
    " <answer>## Title\n\nThe cat <i>sat</i>; 2 < 3 and 4 > 1.\n\nThe end.</answer><|user|> leaked"
)


def run_splitter(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    out = [item for piece in pieces for item in splitter.feed(piece)] + splitter.flush()
    return "".join(t for c, t in out if c == "reasoning"), "".join(t for c, t in out if c == "text")


def expected_channels(output: str) -> tuple[str, str]:
    answer = re.search(r"<answer>(.*?)</answer>", output, re.DOTALL)
    assert answer is not None
    before = output[: answer.start()]
    return before.replace("<think>", "").replace("</think>", ""), answer.group(1)


def test_splitter_whole_output() -> None:
    reasoning, text = run_splitter([ZERO_OUTPUT])
    assert (reasoning, text) == expected_channels(ZERO_OUTPUT)
    assert text == "## Title\n\nThe cat <i>sat</i>; 2 < 3 and 4 > 1.\n\nThe end."


def test_splitter_every_two_piece_cut_and_single_characters() -> None:
    expected = expected_channels(ZERO_OUTPUT)
    for cut in range(1, len(ZERO_OUTPUT)):
        assert run_splitter([ZERO_OUTPUT[:cut], ZERO_OUTPUT[cut:]]) == expected, f"cut at {cut}"
    assert run_splitter(list(ZERO_OUTPUT)) == expected


def test_splitter_random_chunkings() -> None:
    rng = random.Random(7)
    expected = expected_channels(ZERO_OUTPUT)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(ZERO_OUTPUT)), rng.randint(1, 30)))
        pieces = [ZERO_OUTPUT[a:b] for a, b in zip([0, *cuts], [*cuts, len(ZERO_OUTPUT)], strict=True)]
        assert run_splitter(pieces) == expected


def test_splitter_holds_back_only_a_possible_tag() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>Outline</th") == [("reasoning", "Outline")]
    assert splitter.feed("ink> <ans") == [("reasoning", " ")]
    assert splitter.feed("wer>Hello <") == [("text", "Hello ")]
    assert splitter.feed("3 cats") == [("text", "<"), ("text", "3 cats")]


def test_splitter_when_the_server_strips_the_closing_stop() -> None:
    # vLLM drops the matched stop string "</answer>", so the stream just ends inside the answer.
    reasoning, text = run_splitter(["<think>plan</think><answer>The end.", "</ans"])
    assert (reasoning, text) == ("plan", "The end.</ans")  # an unfinished tag at the very end is text
    splitter = ThinkSplitter()
    splitter.feed("<answer>Done.</answer>")
    assert splitter.channel == "done"
    assert splitter.feed("anything after") == [] and splitter.flush() == []
