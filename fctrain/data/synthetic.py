"""A deterministic, offline generator of tool-calling tasks (the demo's training and held-out data).

Each task is one user request, the tools on offer and the reference assistant turn:
- single call (~63%): one request, its tool plus 1-3 distractors (sometimes the same family's near-miss tool,
  e.g. a forecast tool next to a current-weather one);
- parallel calls (~25%): two requests in one message (two tools, or one tool with different arguments),
  answered by two calls in one turn;
- irrelevance (~12%): a request whose tool is NOT offered (or no tool could serve); the reference is a
  short text refusal naming what is missing, e.g. "none of the available tools can look up the weather".

Learnable, not trivial: argument values are often said differently from how they must be passed
("euros" -> "EUR", "March 3, 2025" -> "2025-03-03", "3:30 pm" -> "15:30", "Apple" -> "AAPL"), optional
parameters appear only when asked for, and booleans follow from wording ("nonstop", "switch off").
Sample i depends only on (seed, i): `generate_tasks(n, seed)[:k] == generate_tasks(k, seed)`.
"""

from __future__ import annotations

import random
from typing import Any

from fctrain.data.sample import assistant, make_sample, tool_call, user
from fctrain.data.synthetic_tools import OPEN_REQUESTS, TOOLS, ToolSpec

P_IRRELEVANT = 0.12
P_PARALLEL = 0.25
P_SAME_TOOL_PARALLEL = 0.35  # share of parallel tasks that call one tool twice
P_SIBLING_DISTRACTOR = 0.5  # offer the same family's other tool as a near miss
GENERAL_TOOLS = ("search_wikipedia",)

FAMILIES: dict[str, list[ToolSpec]] = {}
for _tool in TOOLS:
    FAMILIES.setdefault(_tool.family, []).append(_tool)

# {b}: second request continuing the sentence (first letter lowered); {B}: as its own sentence.
CONNECTORS = ("{a} Also, {b}", "{a} And {b}", "{a} {B}", "Two things. {a} {B}", "{a} After that, {b}")
REFUSALS = ("Sorry, I can't help with that: none of the available tools can {capability}.",
            "I'm afraid none of the available tools can {capability}, so I can't do that.")


def _say(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_say(v) for v in value)
    return str(value)


def render_request(tool: ToolSpec, rng: random.Random) -> tuple[str, dict]:
    """(request text, arguments): a phrasing of `tool` filled with freshly drawn values."""
    text, fixed = rng.choice(tool.phrasings)
    values = tool.sample(rng)
    arguments = dict(fixed)
    for param in tool.params:
        slot = "{" + param + "}"
        if slot in text:
            arguments[param] = values[param]
            text = text.replace(slot, str(values.get(f"say_{param}") or _say(values[param])))
    ordered = {p: arguments[p] for p in tool.params if p in arguments}  # schema order, like a model would write
    return text, ordered


def _lower_first(text: str) -> str:
    """Lower-case a request's first letter to continue a sentence ("Also, what's ..."), but not "I"."""
    return text if text.split(" ", 1)[0] in ("I", "I'm", "I've", "I'd", "I'll") else text[0].lower() + text[1:]


def _distractors(called: list[ToolSpec], rng: random.Random) -> list[ToolSpec]:
    """1-3 tools the request does not need; maybe a sibling of a called tool, as a near miss."""
    names, families = {t.name for t in called}, {t.family for t in called}
    chosen = []
    siblings = [t for t in TOOLS if t.family in families and t.name not in names]
    if siblings and rng.random() < P_SIBLING_DISTRACTOR:
        chosen.append(rng.choice(siblings))
    others = [t for t in TOOLS if t.family not in families]
    return chosen + rng.sample(others, max(rng.randint(1, 3) - len(chosen), 0))


def _single(rng: random.Random) -> tuple[str, list[dict], list[ToolSpec]]:
    tool = rng.choice(TOOLS)
    text, arguments = render_request(tool, rng)
    return text, [tool_call(tool.name, arguments)], [tool]


def _parallel(rng: random.Random) -> tuple[str, list[dict], list[ToolSpec]]:
    first = rng.choice(TOOLS)
    second = first if rng.random() < P_SAME_TOOL_PARALLEL else rng.choice([t for t in TOOLS if t.family != first.family])
    (text_a, args_a), (text_b, args_b) = render_request(first, rng), render_request(second, rng)
    for _ in range(5):  # same tool twice: make the two calls differ
        if args_a != args_b:
            break
        text_b, args_b = render_request(second, rng)
    text = rng.choice(CONNECTORS).format(a=text_a, b=_lower_first(text_b), B=text_b)
    called = [first] if first is second else [first, second]
    return text, [tool_call(first.name, args_a), tool_call(second.name, args_b)], called


def _irrelevant(rng: random.Random) -> tuple[str, str, list[ToolSpec]]:
    """(request, refusal, offered tools): the request's family is never among the offered tools."""
    if rng.random() < 0.3:
        text, capability = rng.choice(OPEN_REQUESTS)
        missing_family = ""
    else:
        tool = rng.choice(TOOLS)
        text, _ = render_request(tool, rng)
        capability, missing_family = tool.capability, tool.family
    # A general search tool could answer almost anything, so it is never offered in an irrelevance task.
    offered = rng.sample([t for t in TOOLS if t.family != missing_family and t.name not in GENERAL_TOOLS],
                         rng.randint(1, 3))
    return text, rng.choice(REFUSALS).format(capability=capability), offered


def generate_task(seed: int, index: int) -> dict:
    rng = random.Random(f"fctrain-synthetic:{seed}:{index}")  # str seeds hash with SHA-512: stable everywhere
    kind = rng.random()
    if kind < P_IRRELEVANT:
        text, refusal, offered = _irrelevant(rng)
        reply, tools = assistant(refusal), offered
    else:
        text, calls, called = _parallel(rng) if kind < P_IRRELEVANT + P_PARALLEL else _single(rng)
        reply = assistant(None, calls)
        tools = called + _distractors(called, rng)
    rng.shuffle(tools)
    return make_sample(f"synthetic-{seed}-{index:06d}", [user(text), reply], [t.schema() for t in tools])


def generate_tasks(n: int, seed: int = 0) -> list[dict]:
    """`n` tasks; sample i depends only on (seed, i), so the list is a stable prefix-extendable sequence."""
    if n < 0:
        raise ValueError(f"n: expected a non-negative count, got {n}")
    return [generate_task(seed, i) for i in range(n)]
