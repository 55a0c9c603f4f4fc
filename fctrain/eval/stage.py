"""The `eval` recipe stage: BFCL AST evaluation of the latest model (+ rewards on the held-out split)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fctrain.config.schema import AT_LEAST_1, NON_NEGATIVE, opt
from fctrain.config.typed_dict import check_fields
from fctrain.errors import FieldError
from fctrain.eval.bfcl_data import DEFAULT_CATEGORIES, SUPPORTED_CATEGORIES


@dataclass
class EvalStageConfig:
    categories: list[str] = opt(list(DEFAULT_CATEGORIES), "BFCL categories to evaluate (see docs/evaluation.md).")
    limit: int | None = opt(None, "Questions per category (None = all).", AT_LEAST_1)
    seed: int | None = opt(None, "With limit: a seeded sample of questions instead of the first ones.")
    offset: int = opt(0, "Skip this many first questions per category (a dev slice disjoint from a held-out first N).",
                      NON_NEGATIVE)
    batch_size: int = opt(8, "Prompts per generate call.", AT_LEAST_1)
    max_new_tokens: int = opt(256, "Generation budget per answer (greedy).", AT_LEAST_1)
    heldout_samples: int = opt(64, "Also score this many samples of the validation split with the rewards (0 = skip).",
                               NON_NEGATIVE)
    which: Literal["model", "teacher"] = opt(
        "model", "model = the latest trained student (or the recipe's model); teacher = the teacher.")
    prompt: Literal["auto", "bfcl", "served"] = opt(
        "auto", "bfcl = BFCL's own prompt for the model family; served = the recipe's template; auto = bfcl when "
        "BFCL has a handler for the family.")

    def __post_init__(self):
        check_fields(self)
        unknown = [c for c in self.categories if c not in SUPPORTED_CATEGORIES]
        if unknown:
            raise FieldError("categories", f"BFCL categories among {SUPPORTED_CATEGORIES}", unknown)


def run_eval(ctx, cfg: EvalStageConfig) -> dict:
    """Evaluate into the stage folder. outputs["metrics"]: bfcl_single_turn / bfcl_multi_turn / bfcl_non_live /
    bfcl_live / bfcl_irrelevance, bfcl_overall_v4 / bfcl_overall_v3 (BFCL's, missing categories = 0),
    bfcl_<category> (accuracies in [0, 1]), format_failure_rate, heldout_* (rewards)."""
    from fctrain.models.device import inference_autocast
    from fctrain.models.load import load_model_and_tokenizer

    recipe = ctx.recipe
    if cfg.which == "teacher":
        model_cfg = recipe.teacher or recipe.model
        source = ctx.outputs.get("teacher_path") or model_cfg
    else:
        model_cfg = recipe.model
        source = ctx.outputs.get("model_path") or model_cfg
    model, tokenizer = load_model_and_tokenizer(source, device=recipe.device, for_training=False)
    render = dict(template=recipe.template.name, think=recipe.template.think)
    with inference_autocast(model_cfg, model):
        return _evaluate(ctx, cfg, model, tokenizer, source, render)


def _evaluate(ctx, cfg: EvalStageConfig, model, tokenizer, source, render: dict) -> dict:
    from fctrain.data import read_jsonl
    from fctrain.eval.bfcl_eval import evaluate_bfcl, evaluate_heldout

    results = evaluate_bfcl(
        model, tokenizer, categories=cfg.categories, limit=cfg.limit, seed=cfg.seed, offset=cfg.offset,
        out_dir=ctx.stage_dir, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens, progress=True,
        model_name=str(getattr(source, "name_or_path", source)), prompt=cfg.prompt, **render,
    )
    metrics = {f"bfcl_{name}": agg["accuracy"] for name, agg in results["aggregates"].items()}
    metrics.update({f"bfcl_{name}": results[name]["accuracy"] for name in ("overall_v4", "overall_v3")})
    metrics.update({f"bfcl_{c}": s["accuracy"] for c, s in results["categories"].items()})
    metrics["format_failure_rate"] = results["format_failure_rate"]

    val_path = ctx.outputs.get("val_path")
    if cfg.heldout_samples and val_path and Path(val_path).exists():
        samples = read_jsonl(val_path)[: cfg.heldout_samples]
        if samples:
            heldout = evaluate_heldout(model, tokenizer, samples, out_dir=ctx.stage_dir, batch_size=cfg.batch_size,
                                       max_new_tokens=cfg.max_new_tokens, progress=True, **render)
            metrics.update({f"heldout_{k}": heldout[k] for k in ("similarity", "exact_match", "format_failure_rate")})
    return {"metrics": metrics, "eval_dir": str(ctx.stage_dir)}
