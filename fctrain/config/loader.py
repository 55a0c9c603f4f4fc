"""Load a recipe: YAML -> `key=value` overrides -> typed, validated Recipe with per-stage configs.

    recipe = load_recipe("recipes/smoke/sft.yaml", ["stages.sft.learning_rate=1e-4", "seed=3"])

Overrides use dots for nesting. A stage is addressed by position (`stages.0.x`) or by type
(`stages.sft.x`, when that type appears once). Values are parsed as YAML (`1e-4`, `true`, `[a, b]`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fctrain.config.schema import Recipe
from fctrain.config.typed_dict import from_dict
from fctrain.data.builtin_sources import BUILTIN_SOURCES
from fctrain.errors import ConfigError


@dataclass
class LoadedRecipe:
    recipe: Recipe
    stages: list[tuple[str, Any]]  # (stage type, its typed config)
    source: str  # the file it came from
    raw: dict  # the merged data (after overrides), before defaults were filled in


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (nested keys with dots)")
    key, value = text.split("=", 1)
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        parsed = yaml.safe_load(value) if value != "" else ""
    except yaml.YAMLError:
        parsed = value
    return key.split("."), parsed


def _stage_index(stages: list, part: str, text: str) -> int:
    if part.isdigit():
        i = int(part)
        if i >= len(stages):
            raise ConfigError(f"override {text!r}: there are only {len(stages)} stages")
        return i
    hits = [i for i, s in enumerate(stages) if isinstance(s, dict) and s.get("type") == part]
    if len(hits) != 1:
        kinds = [s.get("type") for s in stages if isinstance(s, dict)]
        raise ConfigError(
            f"override {text!r}: '{part}' must name exactly one stage by type or index (stages: {kinds})"
        )
    return hits[0]


def apply_override(data: dict, text: str) -> None:
    path, value = parse_override(text)
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        if isinstance(node, list):
            node = node[_stage_index(node, part, text)]
            continue
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, (dict, list)):
            prefix = ".".join(path[: depth + 1])
            raise ConfigError(f"override {text!r}: '{prefix}' is a value, not a section")
        node = nxt
    last = path[-1]
    if isinstance(node, list):
        node[_stage_index(node, last, text)] = value
    else:
        node[last] = value


def read_yaml(path: str | os.PathLike) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"recipe file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a recipe must be a mapping of keys, got {type(data).__name__}")
    return data


def load_recipe(path: str | os.PathLike, overrides: list[str] | None = None) -> LoadedRecipe:
    file = str(path)
    data = read_yaml(path)
    for text in overrides or []:
        apply_override(data, text)
    loaded = parse_recipe(data, file)
    check_recipe(loaded, Path(file).parent)
    return loaded


def parse_recipe(data: dict, file: str) -> LoadedRecipe:
    """Typed recipe and stage configs from merged YAML data; the file checks of check_recipe are not run."""
    from fctrain.stages.registry import stage_config_class

    recipe = from_dict(Recipe, data, file=file)
    stages = []
    for i, stage in enumerate(recipe.stages):
        if not isinstance(stage, dict) or "type" not in stage:
            raise ConfigError(f"{file}: 'stages.{i}' needs a 'type' (one of the registered stage types)")
        kind = stage["type"]
        cls = stage_config_class(kind, where=f"{file}: 'stages.{i}.type'")
        body = {k: v for k, v in stage.items() if k != "type"}
        stages.append((kind, from_dict(cls, body, key=f"stages.{i}", file=file)))
    return LoadedRecipe(recipe=recipe, stages=stages, source=file, raw=data)


def resolve_path(value: str, recipe_dir: Path) -> Path | None:
    """A relative path is looked up from the working directory, then from the recipe's folder."""
    p = Path(os.path.expanduser(value))
    if p.is_absolute():
        return p if p.exists() else None
    for base in (Path.cwd(), recipe_dir):
        if (base / p).exists():
            return (base / p).resolve()
    return None


_HUB_ID_PARTS = 2  # "org/name": treated as a hub id when no such local path exists


def _looks_like_hub_id(value: str) -> bool:
    parts = value.split("/")
    return len(parts) == _HUB_ID_PARTS and all(parts) and not value.startswith((".", "~"))


def is_model_alias(name: str) -> bool:
    from fctrain.models.aliases import ALIASES

    return name in ALIASES


def check_format(name: str, where: str) -> None:
    """A data source's format must name an adapter (fctrain.data.adapters) or a built-in source."""
    from fctrain.data.adapters import adapter_names

    known = [*adapter_names(), *BUILTIN_SOURCES]
    if name not in known:
        raise ConfigError(f"{where} must be one of {known}, got {name!r}")


def check_recipe(loaded: LoadedRecipe, recipe_dir: Path) -> None:
    """Cross-field checks: files exist, combinations make sense. Rewrites found paths to absolute ones."""
    r, file = loaded.recipe, loaded.source
    for i, src in enumerate(r.data.sources):
        check_format(src.format, f"{file}: 'data.sources.{i}.format'")
        if src.format in BUILTIN_SOURCES or src.path in BUILTIN_SOURCES:
            src.format = src.path = src.format if src.format in BUILTIN_SOURCES else src.path
            continue
        if not src.path:
            raise ConfigError(f"{file}: 'data.sources.{i}.path' is empty (a file, a hub id or 'synthetic')")
        found = resolve_path(src.path, recipe_dir)
        if found is not None:
            src.path = str(found)
        elif not _looks_like_hub_id(src.path):
            raise ConfigError(f"{file}: 'data.sources.{i}.path': no such file: {src.path}")
    for section in ("model", "teacher"):
        m = getattr(r, section)
        if m is None:
            continue
        if m.trainable_layers is not None and (m.trainable_layers < 1 or m.lora is not None):
            raise ConfigError(f"{file}: '{section}.trainable_layers: {m.trainable_layers}' must be a positive number "
                              f"of blocks, and cannot be combined with '{section}.lora' (LoRA already freezes the base)")
        if m.cache_frozen_blocks and not m.trainable_layers:
            raise ConfigError(f"{file}: '{section}.cache_frozen_blocks' reuses the output of frozen blocks, so it needs "
                              f"'{section}.trainable_layers' (the number of top blocks that train)")
        if m.cache_frozen_blocks and r.deepspeed and "zero3" in str(r.deepspeed):
            raise ConfigError(f"{file}: '{section}.cache_frozen_blocks' is not supported with ZeRO-3 "
                              f"(deepspeed: {r.deepspeed}), which partitions the frozen blocks' weights")
    if r.model.quantization == "4bit" and r.model.lora is None:
        raise ConfigError(f"{file}: 'model.quantization: 4bit' (QLoRA) trains adapters on frozen 4-bit weights, "
                          "so it needs a 'model.lora' section (e.g. model.lora.r=16)")
    for key, m in (("model", r.model), ("teacher", r.teacher)):
        if m is None:
            continue
        if not is_model_alias(m.name_or_path):
            found = resolve_path(m.name_or_path, recipe_dir)
            if found is not None:
                m.name_or_path = str(found)
            elif not _looks_like_hub_id(m.name_or_path):
                raise ConfigError(f"{file}: '{key}.name_or_path': no such model path or hub id: {m.name_or_path}")
    check_template(r.template, file, recipe_dir)
    if r.deepspeed:
        from fctrain.distributed.deepspeed_configs import resolve_deepspeed

        resolve_deepspeed(r.deepspeed, where=f"{file}: 'deepspeed'")
    kinds = [k for k, _ in loaded.stages]
    if not kinds:
        raise ConfigError(f"{file}: 'stages' is empty; add at least one stage (e.g. - type: sft)")
    needs_teacher = {"rollout", "cache_teacher"}
    if needs_teacher & set(kinds) and r.teacher is None and "sft_teacher" not in kinds:
        raise ConfigError(f"{file}: stages {sorted(needs_teacher & set(kinds))} need a 'teacher' section")
    if "ckd" in kinds:
        ckd_at = kinds.index("ckd")
        has_cache = "cache_teacher" in kinds[:ckd_at]
        online = getattr(loaded.stages[ckd_at][1], "online_teacher", False)
        if not has_cache and not online and not getattr(loaded.stages[ckd_at][1], "cache_dir", None):
            raise ConfigError(
                f"{file}: 'stages.{ckd_at}' (ckd) needs a teacher cache: add a cache_teacher stage before it, "
                "set its cache_dir, or set online_teacher: true"
            )
    needs_data = {"sft", "sft_teacher", "rollout", "cache_teacher", "grpo"}
    if needs_data & set(kinds) and not r.data.sources:
        raise ConfigError(f"{file}: 'data.sources' is empty but stages {sorted(needs_data & set(kinds))} need data")


def check_template(t, file, recipe_dir) -> None:
    """template.name is model, a known family or an existing .jinja file (made absolute); fallback a family."""
    from fctrain.render.chat_format import is_template_path
    from fctrain.render.families import get_family

    if t.fallback is not None and t.name != "model":
        raise ConfigError(f"{file}: 'template.fallback' applies only with template.name: model (the model's own "
                          f"template); with template.name: {t.name} remove it")
    where = f"{file}: "
    try:
        if t.fallback is not None:
            get_family(t.fallback)
        if t.name == "model":
            return
        if is_template_path(t.name):
            found = resolve_path(t.name, recipe_dir)
            if found is None or not found.is_file():
                raise ConfigError(f"template.name={t.name!r}: no such Jinja file")
            t.name = str(found)
            return
        get_family(t.name)
    except ConfigError as e:
        raise ConfigError(where + str(e)) from e
