"""Prompt formats as data: how each model family wants its prompt and how its output is read.

A format turns (system, user prompt, assistant prefix) into the exact text a model sees, says
whether an OpenAI-compatible server should get it through the chat or the completions API,
and names its stop strings. Adding a model family means adding a value here, not a branch.
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
    and only the answer is document text.
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

    def render(
        self,
        prompt: str,
        *,
        system: str | None = None,
        assistant_prefix: str = "",
        tokenizer: ChatTokenizer | None = None,
    ) -> str:
        """The full raw prompt text, ending where the model's next token should go."""
        if self.template is None:
            if tokenizer is None:
                raise ValueError(f"format {self.name!r} needs a tokenizer with a chat template")
            messages = [{"role": "system", "content": system}] if system else []
            messages.append({"role": "user", "content": prompt})
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return str(text) + assistant_prefix
        template = self.cjk_template if self.cjk_template and _CJK.search(prompt) else self.template
        sys_part = self.system_template.format(system=system) if system else ""
        return template.format(system=sys_part, prompt=prompt) + assistant_prefix

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

GLM4 = PromptFormat(
    name="glm4",
    template="[gMASK]<sop>{system}<|user|>\n{prompt}<|assistant|>",
    system_template="<|system|>\n{system}",
    api="completion",
    stop=("<|user|>", "<|observation|>", "<|endoftext|>"),
    description="GLM-4 chat layout used by LongWriter-glm4-9b",
)

LLAMA_INST = PromptFormat(
    name="llama-inst",
    template="[INST]{system}{prompt}[/INST]",
    system_template="<<SYS>>\n{system}\n<</SYS>>\n\n",
    api="completion",
    stop=("[INST]",),
    description="raw [INST]…[/INST] prompt of LongWriter-llama3.1-8b (not the Llama-3.1 chat template)",
)

_ZERO_EN = (
    "A conversation between a user and an assistant. The user gives a writing or general task and the "
    "assistant completes it. The assistant first thinks the writing through in depth (planning, structure, "
    "style, audience, reflection, quality checks) and then gives the user the final, polished work. The "
    "thinking and the final work are enclosed in <think> </think> and <answer> </answer> tags respectively, "
    "i.e. <think>detailed planning of the writing</think> <answer>the final written work</answer>. "
    "<|user|>: {prompt} <|assistant|>:"
)
_ZERO_ZH = (
    "用户与助手之间的对话。用户提供一个写作或通用任务，助手完成它。助手先在脑海中深入思考写作过程（规划、结构、风格、受众、反思与质量检查），"
    "再向用户提供最终的书面作品。思考过程和最终作品分别用 <think> </think> 和 <answer> </answer> 标签包裹，"
    "即 <think>详细的写作规划</think> <answer>最终的书面作品</answer>。"
    "<|用户|>: {prompt} <|助手|>:"
)

ZERO_THINK = PromptFormat(
    name="zero-think",
    template="{system}" + _ZERO_EN,
    cjk_template="{system}" + _ZERO_ZH,
    system_template="{system}\n",
    api="completion",
    stop=("<|user|>", "<|endoftext|>", "</answer>"),
    think=True,
    description="LongWriter-Zero think/answer template; only the <answer> part is document text",
)

FORMATS: dict[str, PromptFormat] = {f.name: f for f in (CHAT_TEMPLATE, GLM4, LLAMA_INST, ZERO_THINK)}


class ThinkSplitter:
    """Splits a streamed ``<think>…</think><answer>…</answer>`` output into reasoning and answer.

    Feed it deltas as they arrive; it returns ``(channel, text)`` pieces with the tags removed,
    holding back only the few characters that could be the start of a tag.
    """

    _TAGS = ("<think>", "</think>", "<answer>", "</answer>")

    def __init__(self) -> None:
        self._buffer = ""
        self.channel: Literal["reasoning", "text", "done"] = "reasoning"

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
            self._buffer = self._buffer[len(tag):]
            if tag == "<answer>":
                self.channel = "text"
            elif tag == "</answer>":
                self.channel = "done"
        return [(c, t) for c, t in out if t]

    def flush(self) -> list[tuple[str, str]]:
        """Whatever is held back, once the stream has ended."""
        rest, self._buffer = self._buffer, ""
        return [(self.channel, rest)] if rest and self.channel != "done" else []
