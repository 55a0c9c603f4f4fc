"""Render a canonical sample into token ids + assistant loss mask (training) or a prompt string (generation).

Rendering goes through transformers' `apply_chat_template(..., return_assistant_tokens_mask=True)`: the
template's `{% generation %}` blocks mark the assistant characters and transformers maps them to tokens by
offsets. Two silent failures of that path are turned into errors here: a template without generation markers
(transformers only warns, then returns an all-zero mask) and a mask left empty by the template or truncation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fctrain.errors import ConfigError, DataError, MaskError
from fctrain.render.convert import to_chat_messages, to_chat_tools
from fctrain.render.template import has_generation_markers, resolve_chat_template

TrainOn = Literal["all_assistant", "last_assistant"]


@dataclass
class Rendered:
    input_ids: list[int]
    assistant_mask: list[int]  # 1 on tokens the loss is computed on (assistant answers incl. <|im_end|>)
    text: str  # the full rendered text (before truncation)
    truncated: bool = False

    @property
    def num_assistant_tokens(self) -> int:
        return sum(self.assistant_mask)


def _sample_name(sample: dict) -> str:
    return f"sample {sample.get('id')!r}" if sample.get("id") is not None else "sample"


def _check_messages(sample: dict) -> list[dict]:
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{_sample_name(sample)}: field 'messages' must be a non-empty list")
    return messages


def mask_runs(mask: list[int]) -> list[tuple[int, int]]:
    """[start, end) index ranges of the consecutive 1s in a mask: one run per assistant turn."""
    runs, start = [], None
    for i, bit in enumerate([*mask, 0]):
        if bit and start is None:
            start = i
        elif not bit and start is not None:
            runs.append((start, i))
            start = None
    return runs


def render_chat(tokenizer, sample: dict, *, template: str = "qwen3", think: bool = False,
                max_length: int | None = None, train_on: TrainOn = "all_assistant") -> Rendered:
    """Token ids and assistant mask of a whole conversation.

    template: "qwen3" (fctrain's), "model" (the tokenizer's own, must handle tools) or raw Jinja text.
    think: render `<think>` reasoning (from reasoning_content) as part of each answer; off = empty think block
      in the prompt part of each assistant turn (Qwen3's enable_thinking=False convention).
    max_length: keep the first max_length tokens; a MaskError is raised if no assistant token survives.
    train_on: "all_assistant" masks every assistant turn, "last_assistant" only the final one.
    Raises MaskError when the template has no {% generation %} markers or the mask is all zero.
    """
    if train_on not in ("all_assistant", "last_assistant"):
        raise ConfigError(f"train_on must be 'all_assistant' or 'last_assistant', got {train_on!r}")
    _check_messages(sample)
    chat_template = resolve_chat_template(tokenizer, template)
    if not has_generation_markers(chat_template):
        raise MaskError(
            f"template {template if len(template) < 40 else 'given'!r} has no {{% generation %}} markers, so no "
            "assistant loss mask can be computed (transformers would return an all-zero mask); use "
            "template='qwen3' or add {% generation %}...{% endgeneration %} around assistant answers"
        )
    messages, tools = to_chat_messages(sample), to_chat_tools(sample.get("tools"))
    kwargs = dict(tools=tools, chat_template=chat_template, enable_thinking=think)
    text = tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **kwargs
    )
    input_ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if not any(mask):
        raise MaskError(
            f"{_sample_name(sample)}: the assistant mask is all zero (no assistant message, or the template's "
            "{% generation %} blocks render nothing); nothing would be trained"
        )
    if train_on == "last_assistant":
        start, end = mask_runs(mask)[-1]
        mask = [1 if start <= i < end else 0 for i in range(len(mask))]
    truncated = max_length is not None and len(input_ids) > max_length
    if truncated:
        input_ids, mask = input_ids[:max_length], mask[:max_length]
        if not any(mask):
            raise MaskError(
                f"{_sample_name(sample)}: max_length={max_length} cuts away every assistant token (rendered "
                f"length {len(out['input_ids'])}); raise max_length or drop the sample"
            )
    return Rendered(input_ids=input_ids, assistant_mask=mask, text=text, truncated=truncated)


def split_prompt_reference(sample: dict) -> tuple[dict, dict | None]:
    """(sample with the messages before the last assistant message, that assistant message or None).

    Messages after the last assistant message are dropped from the prompt; with no assistant message the
    whole conversation is the prompt and the reference is None.
    """
    messages = _check_messages(sample)
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        return dict(sample), None
    if last == 0:
        raise DataError(f"{_sample_name(sample)}: the first message is the assistant's; there is no prompt")
    return {**sample, "messages": messages[:last]}, messages[last]


def reference_of(sample: dict) -> dict | None:
    """The last assistant message (the target a generation is compared with), or None."""
    return split_prompt_reference(sample)[1]


def render_prompt(tokenizer, sample: dict, *, template: str = "qwen3", think: bool = False) -> str:
    """The generation prompt: messages before the last assistant turn + the assistant header.

    With fctrain's template the header is `<|im_start|>assistant\\n`, followed by `<think>\\n\\n</think>\\n\\n`
    when think is False (Qwen3 convention: the model then answers directly; training renders the same
    prefix). The prompt is an exact prefix of render_chat's text for the same sample and settings.
    """
    prompt_sample, _ = split_prompt_reference(sample)
    chat_template = resolve_chat_template(tokenizer, template)
    return tokenizer.apply_chat_template(
        to_chat_messages(prompt_sample), tools=to_chat_tools(sample.get("tools")), chat_template=chat_template,
        tokenize=False, add_generation_prompt=True, enable_thinking=think,
    )
