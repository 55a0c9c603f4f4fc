"""Pre-tokenised rows for TRL's SFTTrainer: {"input_ids", "assistant_masks"}.

TRL (>= 1.x) recognises a dataset with an `input_ids` column as already processed and builds `labels` from an
`assistant_masks` column (-100 where the mask is 0), *before* truncation and packing, so assistant-only loss
survives `packing=True` (both "bfd" and "wrapped") without `assistant_only_loss=True` (that flag only applies
to conversational datasets). We render ourselves rather than hand TRL {"messages", "tools"} because our
renderer raises on the silent all-zero mask, lets the caller count samples dropped by truncation, and splits a
conversation whose template is not prefix-preserving into one row per assistant turn (fctrain.render.turns).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from fctrain.errors import ConfigError, MaskError, UnrenderableSampleError
from fctrain.render.turns import TrainOn, render_turns


@dataclass
class SftRows:
    rows: list[dict]  # {"input_ids": list[int], "assistant_masks": list[int]} (+ "group" when samples have one)
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    truncated: int = 0  # rows kept but cut to max_length
    layouts: Counter = field(default_factory=Counter)  # "one_sequence" / "per_turn" -> conversations rendered so

    def stats(self) -> dict:
        """What the data stats report: rows, and how many conversations became one row per assistant turn."""
        return {"rows": len(self.rows), "one_sequence": self.layouts["one_sequence"],
                "per_turn": self.layouts["per_turn"], "truncated": self.truncated, "skipped": dict(self.skipped)}


def build_sft_rows(tokenizer, samples: list[dict], *, template: str = "qwen3", think: bool = False,
                   max_length: int | None = None, train_on: TrainOn = "all_assistant",
                   on_truncated: Literal["error", "skip"] = "skip") -> SftRows:
    """Render every sample. A sample whose assistant tokens all lie beyond max_length, or that the chat format
    cannot express (UnrenderableSampleError), is skipped and counted (on_truncated="skip") or raises ("error");
    any other MaskError (e.g. answers without an end-of-turn marker) always raises: it affects every sample. A conversation the template cannot
    render as one sequence gives one row per assistant turn (counted in `layouts`)."""
    if on_truncated not in ("error", "skip"):
        raise ConfigError(f"on_truncated must be 'error' or 'skip', got {on_truncated!r}")
    out, groups = SftRows(rows=[]), []
    for sample in samples:
        try:
            turns = render_turns(tokenizer, sample, template=template, think=think, max_length=max_length,
                                 train_on=train_on)
        except UnrenderableSampleError:
            if on_truncated != "skip":
                raise
            out.skipped["the chat format cannot express it"] += 1
            continue
        except MaskError as e:
            if on_truncated == "skip" and "cuts away every assistant token" in str(e):
                out.skipped["all assistant tokens beyond max_length"] += 1
                continue
            raise
        out.layouts[turns.layout] += 1
        for r in turns.rows:
            out.truncated += r.truncated
            out.rows.append({"input_ids": r.input_ids, "assistant_masks": r.assistant_mask})
            groups.append(sample.get("group"))
    if any(g is not None for g in groups):  # contrast pairs: trainers keep a group in one micro-batch
        for row, group in zip(out.rows, groups):
            row["group"] = group
    return out


def sft_dataset(tokenizer, samples: list[dict], **kwargs):
    """(`build_sft_rows` as a datasets.Dataset ready for `SFTTrainer(train_dataset=...)`, packing or not, and
    its SftRows.stats(): rows, conversations kept as one sequence or split per turn, truncated, skipped)."""
    from datasets import Dataset

    built = build_sft_rows(tokenizer, samples, **kwargs)
    if not built.rows:
        raise MaskError(f"no trainable sample left out of {len(samples)} (skipped: {dict(built.skipped)})")
    return Dataset.from_list(built.rows), built.stats()
