"""Named DeepSpeed configs shipped in recipes/deepspeed/ (installed as fctrain.recipes)."""

from __future__ import annotations

from pathlib import Path

from fctrain.errors import ConfigError

NAMED = ("zero1", "zero2", "zero3", "zero3_offload")


def recipes_root() -> Path:
    """The recipes/ folder: the source checkout's, or the installed copy under fctrain/recipes."""
    import fctrain.recipes as shipped

    return Path(shipped.__file__).parent


def resolve_deepspeed(value: str, where: str = "deepspeed") -> Path:
    if value in NAMED:
        return recipes_root() / "deepspeed" / f"{value}.json"
    p = Path(value).expanduser()
    if not p.is_file():
        raise ConfigError(f"{where}: expected one of {list(NAMED)} or a path to a DeepSpeed JSON file, got {value!r}")
    return p.resolve()
