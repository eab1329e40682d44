"""Prompt formats as data: how each model family wants its prompt and how its output is read.

A format turns (system, user prompt, assistant prefix) into the exact text a model sees, says
whether an OpenAI-compatible server should get it through the chat or the completions API,
and names its stop strings and stop token ids. Adding a model family means adding a value here,
not a branch.

The rendered text is the *whole* token sequence, special tokens included (GLM-4's
``[gMASK]<sop>``, Llama's ``<|begin_of_text|>``), exactly as a chat template renders it. Whoever
tokenizes it must therefore not add special tokens again: ``add_special_tokens=False`` for a
Hugging Face tokenizer, ``"add_special_tokens": false`` in a vLLM ``/v1/completions`` request
(whose default is true and would double the prefix).

Sources of each layout (checked against the authors' own code, not re-derived):

* GLM-4 (``THUDM/LongWriter-glm4-9b``): ``ChatGLM4Tokenizer.build_chat_input`` in the model's
  ``tokenization_chatglm.py`` (copy in github.com/THUDM/LongWriter ``train/patch/``): prefix tokens
  ``[gMASK]<sop>``, then per message the role token, ``metadata + "\\n"`` and the content, then
  ``<|assistant|>``. The authors' ``vllm_inference.py`` stops on the ids of ``<|endoftext|>``,
  ``<|user|>`` and ``<|observation|>`` and samples with temperature 0.5, top_p 0.8, top_k 50.
* LongWriter-llama3.1-8b: ``evaluation/pred.py`` of the same repository tokenizes
  ``f"[INST]{prompt}[/INST]"`` with the tokenizer's defaults, i.e. after Llama 3's BOS;
  ``train/pre_tokenize_llama3.py`` puts a system message before it as
  ``<<SYS>>\\n{system}\\n<</SYS>>\\n\\n``.
* LongWriter-Zero-32B: the model card's ``format_prompt_with_template`` (English, and Chinese
  when the prompt contains a CJK character) sent as a raw prompt to ``/v1/completions`` with
  stops ``<|user|>``, ``<|endoftext|>``, ``</answer>``, temperature 0.6, top_p 0.95.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

_CJK = re.compile(r"[\u4e00-\u9fff]")


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer a chat-template format needs."""

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class PromptFormat:
    """One model family's prompt layout.

    ``template`` holds ``{system}`` and ``{prompt}`` placeholders; ``None`` means "use the
    tokenizer's own chat template". ``think`` formats produce ``<think>…</think><answer>…</answer>``
    and only the answer is document text. ``stop`` strings only match text the server returns, and
    servers drop special tokens from that text, so a stop that is a special token must also be in
    ``extra_stop_ids``. ``assistant_lead`` is what the model itself writes between the end of the
    template and its content (GLM-4 starts every answer with a newline); it is written before an
    assistant prefix so that a continued answer sits exactly where the model's own would.
    """

    name: str
    template: str | None
    api: Literal["chat", "completion"]
    stop: tuple[str, ...] = ()
    system_template: str = "{system}"
    think: bool = False
    cjk_template: str | None = None
    description: str = ""
    extra_stop_ids: tuple[int, ...] = field(default=())
    assistant_lead: str = ""

    def render(
        self,
        prompt: str,
        *,
        system: str | None = None,
        assistant_prefix: str = "",
        tokenizer: ChatTokenizer | None = None,
    ) -> str:
        """The full raw prompt text, special tokens included, ending where the model's next token goes."""
        if self.template is None:
            if tokenizer is None:
                raise ValueError(f"format {self.name!r} needs a tokenizer with a chat template")
            messages = [{"role": "system", "content": system}] if system else []
            messages.append({"role": "user", "content": prompt})
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return str(text) + assistant_prefix
        template = self.cjk_template if self.cjk_template and _CJK.search(prompt) else self.template
        sys_part = self.system_template.format(system=system) if system else ""
        head = template.format(system=sys_part, prompt=prompt)
        return head + self.assistant_lead + assistant_prefix if assistant_prefix else head

    def messages(self, prompt: str, *, system: str | None = None, assistant_prefix: str = "") -> list[dict[str, str]]:
        """The same request as chat messages, for servers that apply the template themselves."""
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        if assistant_prefix:
            messages.append({"role": "assistant", "content": assistant_prefix})
        return messages


CHAT_TEMPLATE = PromptFormat(
    name="chat-template",
    template=None,
    api="chat",
    description="the tokenizer's own chat template (the default for unknown models)",
)

GLM4_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "[MASK]",
    "[gMASK]",
    "[sMASK]",
    "<sop>",
    "<eop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
)
"""GLM-4's special tokens in the order its tokenizer numbers them, after the 151,329 ordinary ones."""

_GLM4_FIRST_SPECIAL_ID = 151329

GLM4 = PromptFormat(
    name="glm4",
    template="[gMASK]<sop>{system}<|user|>\n{prompt}<|assistant|>",
    system_template="<|system|>\n{system}",
    api="completion",
    stop=("<|user|>", "<|observation|>", "<|endoftext|>"),
    extra_stop_ids=tuple(
        _GLM4_FIRST_SPECIAL_ID + GLM4_SPECIAL_TOKENS.index(t) for t in ("<|endoftext|>", "<|user|>", "<|observation|>")
    ),
    assistant_lead="\n",
    description="GLM-4 chat layout used by LongWriter-glm4-9b",
)

LLAMA_INST = PromptFormat(
    name="llama-inst",
    template="<|begin_of_text|>{system}[INST]{prompt}[/INST]",
    system_template="<<SYS>>\n{system}\n<</SYS>>\n\n",
    api="completion",
    stop=("[INST]",),
    description="raw [INST]…[/INST] prompt of LongWriter-llama3.1-8b (not the Llama-3.1 chat template)",
)

# The prompts LongWriter-Zero was trained with, byte for byte from its model card (Apache-2.0):
# an RL-trained model is sensitive to its training prompt, so these are interface data, not prose
# of ours. Note the card's own quirks ("etc..", two spaces before <|user|> in English) are kept.
_ZERO_EN = (
    "A conversation between the user and the assistant. The user provides a writing/general task, and the "
    "assistant completes it. The assistant first deeply thinks through the writing/answering process in their "
    "mind before providing the final written work to the user. The assistant should engage in comprehensive and "
    "in-depth planning to ensure that every aspect of the writing/general task is detailed and well-structured. "
    "If there is any uncertainty or ambiguity in the writing request, the assistant should reflect, ask "
    "themselves clarifying questions, and explore multiple writing approaches to ensure the final output meets "
    "the highest quality standards. Since writing is both a creative and structured task, the assistant should "
    "analyze it from multiple perspectives, considering coherence, clarity, style, tone, audience, purpose, "
    "etc.. Additionally, the assistant should review and refine the work to enhance its expressiveness. The "
    "writing thought process and the final written work should be enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively, as shown below: <think>A comprehensive strategy for writing that "
    "encompasses detailed planning and structural design\u2014including brainstorming, outlining, style "
    "selection, audience adaptation, self-reflection, quality assurance, etc..</think> <answer>The final "
    "written work after thorough optimization and refinement.</answer>  <|user|>: {prompt} <|assistant|>:"
)
_ZERO_ZH = (
    "用户与助手之间的对话。用户提供一个写作/通用任务，助手完成它。助手首先在脑海中深入思考写作/回答过程，然后向用户提供最终的书面作品。"
    "助手应进行全面而深入的规划，确保写作/通用任务的每个方面都详细且结构合理。如果写作要求存在任何不确定性或歧义，助手应反思，"
    "向自己提出澄清性问题，并探索多种写作方式，以确保最终作品达到最高质量标准。由于写作是一个既富有创造性又需要结构性的任务，"
    "助手应从多个角度进行分析，考虑连贯性、清晰度、风格、语气、受众和目的，等等因素。此外，助手还应对作品进行审查和优化，"
    "以增强其表达效果。写作思考过程和最终的书面作品分别用 <think> </think> 和 <answer> </answer> 标签包裹，如下所示："
    "<think>详细的写作规划和结构设计，可能包括头脑风暴、大纲制定、风格选择、受众适配、反思以及质量检查等等。</think> "
    "<answer>经过充分优化和润色的最终书面作品。</answer> <|用户|>: {prompt} <|助手|>:"
)

ZERO_THINK = PromptFormat(
    name="zero-think",
    template="{system}" + _ZERO_EN,
    cjk_template="{system}" + _ZERO_ZH,
    system_template="{system}\n",
    api="completion",
    stop=("<|user|>", "<|endoftext|>", "</answer>"),
    think=True,
    assistant_lead=" <think>\n</think>\n<answer>\n",
    description="LongWriter-Zero think/answer template; only the <answer> part is document text",
)
"""Continuing an answer (an assistant prefix) reopens it after an empty think block, so the model
goes on writing document text instead of starting to reason again."""

FORMATS: dict[str, PromptFormat] = {f.name: f for f in (CHAT_TEMPLATE, GLM4, LLAMA_INST, ZERO_THINK)}


class ThinkSplitter:
    """Splits a streamed ``<think>…</think><answer>…</answer>`` output into reasoning and answer.

    Feed it deltas as they arrive; it returns ``(channel, text)`` pieces with the tags removed,
    holding back only the few characters that could be the start of a tag.
    """

    _TAGS = ("<think>", "</think>", "<answer>", "</answer>")

    def __init__(self, answering: bool = False) -> None:
        """``answering``: the stream continues an answer already opened in the prompt."""
        self._buffer = ""
        self.channel: Literal["reasoning", "text", "done"] = "text" if answering else "reasoning"

    def feed(self, delta: str) -> list[tuple[str, str]]:
        self._buffer += delta
        out: list[tuple[str, str]] = []
        while self._buffer and self.channel != "done":
            start = self._buffer.find("<")
            if start < 0:
                out.append((self.channel, self._buffer))
                self._buffer = ""
                break
            if start:
                out.append((self.channel, self._buffer[:start]))
                self._buffer = self._buffer[start:]
            tag = next((t for t in self._TAGS if self._buffer.startswith(t)), None)
            if tag is None:
                if any(t.startswith(self._buffer) for t in self._TAGS):
                    break  # maybe a tag cut in half: wait for more text
                out.append((self.channel, "<"))
                self._buffer = self._buffer[1:]
                continue
            self._buffer = self._buffer[len(tag) :]
            if tag == "<answer>":
                self.channel = "text"
            elif tag == "</answer>":
                self.channel = "done"
        return [(c, t) for c, t in out if t]

    def flush(self) -> list[tuple[str, str]]:
        """Whatever is held back, once the stream has ended."""
        rest, self._buffer = self._buffer, ""
        return [(self.channel, rest)] if rest and self.channel != "done" else []
