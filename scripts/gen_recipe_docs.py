"""Regenerate docs/recipes.md from the config dataclasses (their defaults and `help` texts).

    .venv/bin/python scripts/gen_recipe_docs.py          # rewrite docs/recipes.md
    .venv/bin/python scripts/gen_recipe_docs.py --check  # exit 1 when it is out of date (the test suite runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from fctrain.config.schema import Recipe
from fctrain.config.typed_dict import describe
from fctrain.stages.registry import STAGES, stage_config_class

OUT = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"

HEADER = """# Recipe reference

Generated from the config dataclasses by `scripts/gen_recipe_docs.py`; do not edit by hand.

A recipe is a YAML file: the shared sections below, then `stages:`, a list run in order, each with a
`type` and that stage's options. Any key can be overridden on the command line with `key=value`
(nested keys with dots; a stage by index or type: `stages.0.learning_rate=1e-4`, `stages.sft.max_steps=10`).
Unknown keys, wrong types, values outside a field's range (shown after its type), missing files and
impossible combinations are errors naming the key and file, found by `fctrain validate` without loading a model.
"""


def table(rows) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, tp, default, help_text in rows:
        lines.append(f"| `{key}` | `{tp}` | `{default}` | {help_text} |".replace("`(see below)`", "(see below)"))
    return "\n".join(lines)


def render() -> str:
    parts = [HEADER, "## Shared sections\n", table(describe(Recipe)), ""]
    seen = set()
    for kind in STAGES:
        cls = stage_config_class(kind)
        title = f"## Stage `{kind}`" + (f" (same options as `{cls.__name__}`)" if cls in seen else "")
        parts += [title, "", (cls.__doc__ or "").strip() if cls not in seen else "", ""]
        if cls not in seen:
            parts += [table(describe(cls)), ""]
        seen.add(cls)
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run python scripts/gen_recipe_docs.py", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    OUT.write_text(text)
    print(f"wrote {OUT}")
