"""How a run turns instructions into prompts: the studio's prompt format, fitted to the tokenizer.

Raw formats render the whole token sequence, special tokens included (Llama 3's ``<|begin_of_text|>``,
GLM-4's ``[gMASK]<sop>``), and the studio tokenizes them with ``add_special_tokens=False``. TRL's
trainers tokenize text prompts with the tokenizer's defaults instead, which would add those tokens a
second time; so the prefix the tokenizer adds by itself is taken off the rendered text here, and the
model trains on exactly the token sequence it sees at inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from longwriter.formats import PromptFormat


@dataclass(frozen=True)
class Prompting:
    """A prompt format plus the special-token text the tokenizer puts before every text on its own."""

    format: PromptFormat
    added_prefix: str = ""

    @classmethod
    def for_tokenizer(cls, fmt: PromptFormat, tokenizer: Any) -> Prompting:
        """Find what ``tokenizer`` prepends by comparing a text tokenized with and without special tokens."""
        plain = list(tokenizer("x", add_special_tokens=False)["input_ids"])
        full = list(tokenizer("x")["input_ids"])
        start = full[: len(full) - len(plain)] if plain and full[len(full) - len(plain) :] == plain else []
        return cls(fmt, tokenizer.decode(start) if start else "")

    @property
    def conversational(self) -> bool:
        """True when the tokenizer's chat template renders prompts, so rows stay message lists for TRL."""
        return self.format.template is None

    def render(self, prompt: str, system: str | None = None) -> str:
        """The raw prompt text TRL should tokenize (with the tokenizer's defaults) for this instruction."""
        return self.format.render(prompt, system=system).removeprefix(self.added_prefix)
