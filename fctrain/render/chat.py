"""Render a canonical sample into token ids + assistant loss mask (training) or a prompt string (generation).

Both go through fctrain.render.turns: each assistant turn is trained on the served prompt for its history
followed by its answer, and a conversation that cannot share one sequence becomes one row per turn
(`render_turns`, used by SFT). `render_chat` is the one-sequence view for callers that need exactly one row.
"""

from __future__ import annotations

from fctrain.errors import DataError, MaskError
from fctrain.render.turns import Rendered, TrainOn, render_prompt_text, render_turns, sample_name

__all__ = ["Rendered", "TrainOn", "mask_runs", "reference_of", "render_chat", "render_prompt", "split_prompt_reference"]


def _check_messages(sample: dict) -> list[dict]:
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{sample_name(sample)}: field 'messages' must be a non-empty list")
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
    """Token ids and assistant mask of a whole conversation as ONE sequence.

    template: a family ("qwen3", "llama3_2", ...), "model" (the tokenizer's own), a .jinja path or Jinja text.
    think: render reasoning (reasoning_content) as part of each answer; off = Qwen3's enable_thinking=False.
    max_length: keep the first max_length tokens; a MaskError is raised if no assistant token survives.
    train_on: "all_assistant" masks every assistant turn, "last_assistant" only the final one.
    Raises MaskError when a mask cannot be computed exactly, or when the template renders earlier turns
    differently once later ones follow (then only render_turns' one-row-per-turn layout is exact).
    """
    _check_messages(sample)
    turns = render_turns(tokenizer, sample, template=template, think=think, max_length=max_length,
                         train_on=train_on)
    if len(turns.rows) > 1:
        raise MaskError(f"{sample_name(sample)}: template {template!r} renders earlier assistant turns differently "
                        "once later ones follow, so the turns cannot share one sequence; use render_turns (one row "
                        "per turn) or train_on='last_assistant'")
    return turns.rows[0]


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
        raise DataError(f"{sample_name(sample)}: the first message is the assistant's; there is no prompt")
    return {**sample, "messages": messages[:last]}, messages[last]


def reference_of(sample: dict) -> dict | None:
    """The last assistant message (the target a generation is compared with), or None."""
    return split_prompt_reference(sample)[1]


def render_prompt(tokenizer, sample: dict, *, template: str = "qwen3", think: bool = False) -> str:
    """The generation prompt: messages before the last assistant turn + the assistant header, text-identical to
    the template's own generation prompt (qwen3 with think off ends in `<think>\n\n</think>\n\n`, Qwen3's
    enable_thinking=False). The prompt is an exact prefix of the training text of that turn.
    """
    prompt_sample, _ = split_prompt_reference(sample)
    return render_prompt_text(tokenizer, prompt_sample, template=template, think=think)
