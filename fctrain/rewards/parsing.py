"""Parse a generated assistant turn: `<think>` block, `<tool_call>` JSON bodies, plain text reply.

Tolerant of whitespace, strict about structure. The accepted text is what the Qwen3/Hermes templates
render (`<think>\\n...\\n</think>\\n\\n` + content + `<tool_call>\\n{json}\\n</tool_call>` blocks joined by
newlines) and the usual variants: no newlines around a body, several calls in one block as a JSON list.

Rules (every failure returns `ok=False` and a short, stable `reason` code, handy as a counter key):
- think=True: exactly one `<think>` and one `</think>`, in that order, with only whitespace before
  `<think>`; the answer is what follows `</think>`. think=False: no think tag at all.
- In the answer, `<tool_call>` / `</tool_call>` must alternate, starting with an opening tag and ending
  closed: a stray `</tool_call>`, a `<tool_call>` inside another, or an unclosed one is a failure.
- A body is strict JSON (no NaN/Infinity): an object, or a non-empty list of objects. Each object has
  `name` (non-empty str) and `arguments` (an object). Decision: `arguments` given as a JSON *string* that
  decodes to an object (OpenAI style) is accepted and decoded, since it encodes the same call; any other
  type is a failure. Other keys (e.g. "id") are ignored. Nothing is ever `eval`ed.
- `content` is the answer with every tool-call block removed, stripped; `reasoning` is the think text,
  stripped (None when think=False).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_CALL_TAG = re.compile(r"</?tool_call>")


@dataclass(frozen=True)
class ParsedCompletion:
    ok: bool
    reason: str | None = None
    reasoning: str | None = None
    content: str = ""
    tool_calls: list[dict] = field(default_factory=list)


class _Malformed(Exception):
    """Internal: carries the failure reason code out of nested helpers."""


def _reject_constant(name: str):
    raise _Malformed("invalid_json")  # NaN / Infinity are not JSON


_JSON = json.JSONDecoder(parse_constant=_reject_constant)  # one decoder: json.loads(**kw) builds one per call


def _call_of(obj) -> dict:
    if not isinstance(obj, dict):
        raise _Malformed("call_not_object")
    if "name" not in obj:
        raise _Malformed("missing_name")
    name = obj["name"]
    if not isinstance(name, str) or not name.strip():
        raise _Malformed("bad_name")
    if "arguments" not in obj:
        raise _Malformed("missing_arguments")
    arguments = obj["arguments"]
    if isinstance(arguments, str):  # OpenAI-style JSON-encoded arguments: same call, decode it
        try:
            arguments = _JSON.decode(arguments)
        except (ValueError, RecursionError):
            raise _Malformed("bad_arguments") from None
    if not isinstance(arguments, dict):
        raise _Malformed("bad_arguments")
    return {"name": name, "arguments": arguments}


def parse_call_body(body: str) -> list[dict]:
    """The calls in one `<tool_call>` body (an object, or a list of objects); raises _Malformed."""
    try:
        obj = _JSON.decode(body)
    except (ValueError, RecursionError):
        raise _Malformed("invalid_json") from None
    if isinstance(obj, list):
        if not obj:
            raise _Malformed("empty_call_list")
        return [_call_of(o) for o in obj]
    return [_call_of(obj)]


def _split_think(text: str, think: bool) -> tuple[str | None, str]:
    """(reasoning, answer); raises _Malformed."""
    n_open, n_close = text.count(THINK_OPEN), text.count(THINK_CLOSE)
    if not think:
        if n_open or n_close:
            raise _Malformed("unexpected_think")
        return None, text
    if n_open != 1 or n_close != 1:
        raise _Malformed("think_count")
    start, end = text.index(THINK_OPEN), text.index(THINK_CLOSE)
    if end < start:
        raise _Malformed("think_order")
    if text[:start].strip():
        raise _Malformed("text_before_think")
    return text[start + len(THINK_OPEN) : end].strip(), text[end + len(THINK_CLOSE) :]


def _split_calls(answer: str) -> tuple[str, list[dict]]:
    """(content without call blocks, calls); raises _Malformed."""
    if CALL_OPEN not in answer and CALL_CLOSE not in answer:
        return answer.strip(), []  # a plain reply: the common case, no scan needed
    pieces, calls = [], []
    pos, body_start = 0, None  # body_start is set while inside a block
    for m in _CALL_TAG.finditer(answer):
        opening = m.group() == CALL_OPEN
        if body_start is None:
            if not opening:
                raise _Malformed("stray_close_tag")
            pieces.append(answer[pos : m.start()])
            body_start = m.end()
        else:
            if opening:
                raise _Malformed("nested_tool_call")
            calls.extend(parse_call_body(answer[body_start : m.start()]))
            pos, body_start = m.end(), None
    if body_start is not None:
        raise _Malformed("unclosed_tool_call")
    pieces.append(answer[pos:])
    return "".join(pieces).strip(), calls


def parse_completion(text: str, *, think: bool = True) -> ParsedCompletion:
    """Parse one completion; never raises on any str (a failure is `ok=False` with a reason code)."""
    if not isinstance(text, str):
        return ParsedCompletion(ok=False, reason="not_text")
    try:
        reasoning, answer = _split_think(text, think)
        content, calls = _split_calls(answer)
    except _Malformed as e:
        return ParsedCompletion(ok=False, reason=str(e))
    return ParsedCompletion(ok=True, reasoning=reasoning, content=content, tool_calls=calls)


def format_tool_calls(tool_calls: list[dict]) -> str:
    """Canonical text of calls: `<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>` joined by newlines."""
    return "\n".join(
        f"{CALL_OPEN}\n{json.dumps({'name': c['name'], 'arguments': c['arguments']}, ensure_ascii=False)}\n{CALL_CLOSE}"
        for c in tool_calls
    )
