"""Function renaming (the "function masking" of Hammer): make a model read tool names from the tool list.

In most tool-calling data a function is named after what the request asks for ("the density of an object"
-> calculate_density), so a small model learns to write a plausible name instead of copying the offered one.
Measured on SmolLM2-135M trained on BFCL's exec_simple: on BFCL it called `math.area_circle` where
`geometry.area_circle` was offered, and on irrelevance questions it called a function it made up
(`math.integral`, `get_best_route`) rather than judge the one offered. Renaming a sample's functions, in its
tool list and in its answers alike, takes the shortcut away: the name in the answer can only come from the
tool list. Descriptions and parameters are kept, so what a tool does still reads the same.

A new name is the old one restyled the ways real APIs name things: a namespace (`geometry.area_circle`),
another verb (`compute_density`), camelCase (`calculateDensity`) or a class-and-method form
(`Density.calculate`). Parameters get the same treatment, half of them per function (`initial_velocity` ->
`initialVelocity`, `init_velocity`, `initial_velocity_value`), in the schema and in the calls' arguments:
a model that guesses argument names from the request fails BFCL as surely as one that guesses the function.
Each sample is renamed on its own, deterministically from its id and the seed.
"""

from __future__ import annotations

import copy
import hashlib
import random

NAMESPACES = ("math", "geometry", "physics", "finance", "stats", "utils", "api", "tools", "science", "data",
              "calc", "service", "core", "lib")
VERB_SYNONYMS = {
    "calculate": ("compute", "calc", "get", "find", "determine", "estimate"),
    "calc": ("calculate", "compute", "get"),
    "compute": ("calculate", "calc", "get"),
    "get": ("fetch", "retrieve", "find", "lookup", "query"),
    "find": ("search", "get", "lookup", "locate"),
    "search": ("find", "query", "lookup"),
    "create": ("make", "add", "new", "build"),
    "convert": ("transform", "change", "to"),
    "check": ("verify", "validate", "is"),
}


def _words(name: str) -> list[str]:
    """snake_case, dotted or camelCase name -> lower-case words."""
    words, current = [], ""
    for ch in name:
        if ch in "_.-" or ch.isspace():
            words.append(current)
            current = ""
        elif ch.isupper() and current and not current[-1].isupper():
            words.append(current)
            current = ch
        else:
            current += ch
    words.append(current)
    return [w.lower() for w in words if w]


def _camel(words: list[str]) -> str:
    return words[0] + "".join(w.capitalize() for w in words[1:])


def restyle(name: str, rng: random.Random) -> str:
    """One new name for `name` (it may, rarely, come out unchanged)."""
    words = _words(name) or ["fn"]
    if words[0] in VERB_SYNONYMS and rng.random() < 0.5:
        words = [rng.choice(VERB_SYNONYMS[words[0]]), *words[1:]]
    style = rng.randrange(4)
    if style == 0:
        return f"{rng.choice(NAMESPACES)}.{'_'.join(words)}"
    if style == 1:
        return _camel(words)
    if style == 2 and len(words) > 1:
        return "".join(w.capitalize() for w in words[1:]) + "." + words[0]
    return f"{rng.choice(NAMESPACES)}.{_camel(words)}"


PARAM_SUFFIXES = ("value", "val", "input", "param", "arg")


def restyle_parameter(name: str, rng: random.Random) -> str:
    """One new name for a parameter: camelCase, shortened words, or a suffix."""
    words = _words(name) or ["arg"]
    style = rng.randrange(3)
    if style == 0 and len(words) > 1:
        return _camel(words)
    if style == 1 and any(len(w) > 4 for w in words):
        return "_".join(w[:4] if len(w) > 4 else w for w in words)
    return "_".join(words) + "_" + rng.choice(PARAM_SUFFIXES)


def _rename_parameters(tool: dict, rng: random.Random) -> dict[str, str]:
    """Rename about half of a tool's parameters in place (properties and required); returns old -> new."""
    params = tool.get("parameters")
    props = params.get("properties") if isinstance(params, dict) else None
    if not isinstance(props, dict):
        return {}
    mapping = {}
    for old in props:
        if rng.random() < 0.5:
            new = restyle_parameter(old, rng)
            if new != old and new not in props and new not in mapping.values():
                mapping[old] = new
    if mapping:
        params["properties"] = {mapping.get(k, k): v for k, v in props.items()}
        if isinstance(params.get("required"), list):
            params["required"] = [mapping.get(k, k) for k in params["required"]]
    return mapping


def rename_functions(sample: dict, seed: int = 0) -> dict:
    """A copy of `sample` with every offered function renamed, in `tools` and in the messages' calls alike."""
    key = f"fctrain-rename:{seed}:{sample.get('id')}"
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    tools = sample.get("tools") or []
    taken = {t["name"] for t in tools}
    mapping = {}
    for tool in tools:
        new = restyle(tool["name"], rng)
        while new in taken or new in mapping.values():  # keep names distinct within the sample
            new = f"{new}_{rng.randrange(10)}"
        mapping[tool["name"]] = new
    out = copy.deepcopy(sample)
    arg_maps = {}
    for tool in out.get("tools") or []:
        arg_maps[mapping[tool["name"]]] = _rename_parameters(tool, rng)
        tool["name"] = mapping[tool["name"]]
    for message in out["messages"]:
        for call in message.get("tool_calls") or []:
            call["name"] = mapping.get(call["name"], call["name"])
            args, renamed = call.get("arguments"), arg_maps.get(call["name"])
            if renamed and isinstance(args, dict):
                call["arguments"] = {renamed.get(k, k): v for k, v in args.items()}
        if message.get("role") == "tool" and message.get("name") in mapping:
            message["name"] = mapping[message["name"]]
    return out


def rename_share(samples: list[dict], share: float, seed: int = 0) -> list[dict]:
    """Rename the functions of a `share` of the samples (picked by a hash of the id: reruns agree), order kept."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"rename share must be in [0, 1], got {share!r}")

    from fctrain.data.mixture import hash_fraction

    return [rename_functions(s, seed) if hash_fraction(f"fctrain-rename-pick:{seed}:{s.get('id')}") < share else s
            for s in samples]
