"""Multi-turn rendering exactly as served: each assistant turn is trained on official(history) + its answer.

For an assistant turn i, the *prompt* is what the chat template gives at inference for the messages before it
(with the generation prompt), and the *answer* is what the template appends when the turn is added, up to and
including the end-of-turn marker. Where the template marks answers with {% generation %}, the answer is the
last marked span, and it must start where the prompt ends; otherwise it is the rendered suffix, which must
end with the family's end-of-turn marker (else MaskError: the model would never learn to stop).

A conversation becomes ONE sequence when the whole rendered conversation contains every turn's prompt+answer
as a prefix (the template is prefix-preserving for it), else ONE SAMPLE PER ASSISTANT TURN sharing nothing.
Qwen3's official template, which drops earlier turns' reasoning and empty think blocks, is such a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jinja2 import TemplateError

from fctrain.errors import ConfigError, MaskError, UnrenderableSampleError
from fctrain.render.chat_format import ChatFormat, resolve_format
from fctrain.render.convert import to_chat_messages, to_chat_tools
from fctrain.render.template import handles_tools, has_generation_markers

TrainOn = Literal["all_assistant", "last_assistant"]
Layout = Literal["one_sequence", "per_turn"]


@dataclass
class Rendered:
    input_ids: list[int]
    assistant_mask: list[int]  # 1 on tokens the loss is computed on (answers incl. their end-of-turn marker)
    text: str  # the full rendered text (before truncation)
    truncated: bool = False

    @property
    def num_assistant_tokens(self) -> int:
        return sum(self.assistant_mask)


@dataclass
class Turns:
    rows: list[Rendered]
    layout: Layout


@dataclass
class Context:
    tokenizer: object
    fmt: ChatFormat
    tools: list | None
    think: bool
    where: str  # the sample, for errors


def sample_name(sample: dict) -> str:
    return f"sample {sample.get('id')!r}" if sample.get("id") is not None else "sample"


def chat_messages(sample: dict, think: bool) -> list[dict]:
    """Template messages; without thinking, reasoning is dropped: a model answering without it leaves none in
    the history the template renders at inference."""
    messages = to_chat_messages(sample)
    if not think:
        for m in messages:
            m.pop("reasoning_content", None)
    return messages


def apply(ctx: Context, messages: list[dict], *, generation_prompt: bool) -> str:
    try:
        return ctx.tokenizer.apply_chat_template(
            messages, tools=ctx.tools, chat_template=ctx.fmt.text, tokenize=False,
            add_generation_prompt=generation_prompt, **ctx.fmt.render_kwargs(ctx.think))
    except TemplateError as e:  # e.g. Llama 3.2: "This model only supports single tool-calls at once!"
        raise UnrenderableSampleError(f"{ctx.where}: template {ctx.fmt.label} cannot render this conversation: "
                                      f"{e}") from e


def end_markers(ctx: Context) -> tuple[str, ...]:
    if ctx.fmt.family is not None:
        return ctx.fmt.family.end_markers
    # Unknown template: an answer must end with one of the tokenizer's special tokens (its end-of-turn).
    return tuple(t for t in ctx.tokenizer.all_special_tokens if t)


def marked_answer(ctx: Context, messages: list[dict], full: str) -> tuple[int, int]:
    """(start, end) of the last {% generation %} span of `full` (the rendered turn)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    kwargs = {**ctx.tokenizer.special_tokens_map, **ctx.fmt.render_kwargs(ctx.think)}
    texts, spans = render_jinja_template([messages], tools=ctx.tools, chat_template=ctx.fmt.text,
                                         return_assistant_tokens_mask=True, **kwargs)
    if texts[0] != full:  # same template and variables: only a template reading undeclared state differs
        raise MaskError(f"{ctx.where}: template {ctx.fmt.label} renders differently when asked for its generation "
                        "spans, so they cannot be mapped onto the text")
    if not spans[0] or spans[0][-1][0] >= spans[0][-1][1]:
        raise MaskError(f"{ctx.where}: template {ctx.fmt.label}: its {{% generation %}} blocks mark nothing in the "
                        "last assistant turn (an all-zero mask); nothing would be trained")
    return spans[0][-1]


@dataclass
class Turn:
    prompt: str  # the served generation prompt for the messages before the turn
    answer: str  # what the turn adds, up to and including its end-of-turn marker
    text: str  # the template's rendering of the conversation up to and including the turn


def answer_span(ctx: Context, messages: list[dict], i: int) -> Turn:
    """Assistant turn i: the served prompt for messages[:i] and the text the turn adds."""
    prompt = apply(ctx, messages[:i], generation_prompt=True)
    full = apply(ctx, messages[: i + 1], generation_prompt=False)
    if not full.startswith(prompt):
        raise MaskError(f"{ctx.where}: template {ctx.fmt.label} renders assistant message {i} after a different "
                        "prefix than its own generation prompt, so no answer span can be computed exactly")
    if has_generation_markers(ctx.fmt.text):
        start, end = marked_answer(ctx, messages[: i + 1], full)
        if start != len(prompt):
            raise MaskError(f"{ctx.where}: template {ctx.fmt.label}: the {{% generation %}} span of assistant message "
                            f"{i} starts at character {start}, not where the generation prompt ends ({len(prompt)})")
        return Turn(prompt, full[start:end], full)
    answer = full[len(prompt):].rstrip()  # whitespace after the end-of-turn marker is the next message's
    markers = end_markers(ctx)
    if not answer.endswith(markers):
        raise MaskError(f"{ctx.where}: template {ctx.fmt.label}: assistant message {i} does not end with an "
                        f"end-of-turn marker ({', '.join(sorted(markers)) or 'none known'}), so the model would "
                        "never learn to stop")
    return Turn(prompt, answer, full)


def tokenize_spans(ctx: Context, text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Ids of `text` and a mask of the tokens overlapping a span (as transformers maps generation spans)."""
    enc = ctx.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(s < end and e > start for start, end in spans)) for s, e in enc["offset_mapping"]]
    return list(enc["input_ids"]), mask


def truncate(ctx: Context, row: Rendered, max_length: int | None) -> Rendered:
    if max_length is None or len(row.input_ids) <= max_length:
        return row
    ids, mask = row.input_ids[:max_length], row.assistant_mask[:max_length]
    if not any(mask):
        raise MaskError(f"{ctx.where}: max_length={max_length} cuts away every assistant token (rendered length "
                        f"{len(row.input_ids)}); raise max_length or drop the sample")
    return Rendered(ids, mask, row.text, truncated=True)


def render_turns(tokenizer, sample: dict, *, template: str = "qwen3", think: bool = False,
                 max_length: int | None = None, train_on: TrainOn = "all_assistant") -> Turns:
    """The rows a conversation trains on: one sequence, or one per assistant turn (see the module doc).

    train_on: "all_assistant" trains every assistant turn, "last_assistant" only the final one.
    Raises MaskError when a turn's answer cannot be delimited exactly, or max_length cuts every answer token.
    """
    if train_on not in ("all_assistant", "last_assistant"):
        raise ConfigError(f"train_on must be 'all_assistant' or 'last_assistant', got {train_on!r}")
    where = sample_name(sample)
    ctx = Context(tokenizer, resolve_format(tokenizer, template), to_chat_tools(sample.get("tools")), think, where)
    if think and ctx.fmt.family is not None and not ctx.fmt.family.reasoning:
        raise ConfigError(f"template {ctx.fmt.label} renders no reasoning, so template.think=true would train "
                          "answers without it; set think: false or use a family with reasoning")
    if ctx.tools and not handles_tools(ctx.fmt.text):
        raise ConfigError(f"{where}: template {ctx.fmt.label} does not render tools/tool_calls, so the sample's tool "
                          "definitions and calls would be dropped; name a family that renders them")
    messages = chat_messages(sample, think)
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant" and i > 0]
    if not turns:
        raise MaskError(f"{where}: no assistant message after the first message; nothing would be trained")
    if train_on == "last_assistant":
        turns = turns[-1:]
    pieces = [answer_span(ctx, messages, i) for i in turns]
    full = pieces[-1].text  # the conversation up to the last trained turn
    if all(full.startswith(t.prompt + t.answer) for t in pieces):
        ids, mask = tokenize_spans(ctx, full, [(len(t.prompt), len(t.prompt) + len(t.answer)) for t in pieces])
        rows, layout = [Rendered(ids, mask, full)], "one_sequence"
    else:
        rows, layout = [], "per_turn"
        for t in pieces:
            ids, mask = tokenize_spans(ctx, t.text, [(len(t.prompt), len(t.prompt) + len(t.answer))])
            rows.append(Rendered(ids, mask, t.text))
    for row in rows:
        if not any(row.assistant_mask):
            raise MaskError(f"{where}: template {ctx.fmt.label}: an answer maps to no token (all-zero mask)")
    return Turns([truncate(ctx, r, max_length) for r in rows], layout)


def render_prompt_text(tokenizer, messages_sample: dict, *, template: str, think: bool) -> str:
    """The served generation prompt for all of `messages_sample`'s messages."""
    ctx = Context(tokenizer, resolve_format(tokenizer, template), to_chat_tools(messages_sample.get("tools")),
                  think, sample_name(messages_sample))
    return apply(ctx, chat_messages(messages_sample, think), generation_prompt=True)
