"""Training chat templates for tokenizers whose template TRL cannot patch for assistant-only loss.

``assistant_only_loss`` needs ``{% generation %}`` markers around assistant text. TRL ships marked
versions of the templates it knows, but not of SmolLM2's ChatML template, our embedded default. The
version here renders byte-for-byte the same text and marks each assistant reply together with its
``<|im_end|>``, so the model also learns to stop; it is swapped in only after rendering proves it
equal to the tokenizer's own template, and it is saved with the checkpoint (inference is unchanged:
the markers render nothing).
"""

from __future__ import annotations

from typing import Any

SMOLLM2_TRAINING = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_KNOWN = (SMOLLM2_TRAINING,)

_PROBES: tuple[list[dict[str, str]], ...] = (
    [{"role": "user", "content": "Write a poem."}, {"role": "assistant", "content": "Roses."}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Again"},
    ],
)


def _renders_alike(tokenizer: Any, template: str) -> bool:
    for probe in _PROBES:
        for add_generation_prompt in (False, True):
            ours = tokenizer.apply_chat_template(
                probe, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt
            )
            theirs = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=add_generation_prompt)
            if ours != theirs:
                return False
    return True


def use_training_template(tokenizer: Any) -> bool:
    """Give ``tokenizer`` a marked equivalent of its template when we ship one; True if it was swapped.

    Otherwise the tokenizer is left alone and TRL patches it (or explains why it cannot).
    """
    from trl.chat_template_utils import has_generation_markers

    template = tokenizer.chat_template
    if not isinstance(template, str) or has_generation_markers(template):
        return False
    for candidate in _KNOWN:
        if _renders_alike(tokenizer, candidate):
            tokenizer.chat_template = candidate
            return True
    return False
