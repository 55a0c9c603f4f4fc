"""Non-finite loss or gradients: stop naming the step and the samples, or skip the optimizer step and count it.

Trainer on its own keeps going after a NaN (it only hides it from the logged loss), and the next optimizer
step writes NaN into every weight. `NonFiniteGuard.install(trainer)` wraps three Trainer methods on that
one instance:

- `training_step`: after each micro-batch's forward/backward, checks the loss and remembers the batch (its
  sample ids are worked out only when something goes wrong);
- `_get_grad_norm`: Trainer computes the total gradient norm once per optimizer step anyway; a NaN/inf norm
  means a NaN/inf gradient somewhere;
- the optimizer's `step`: skipped when the step was marked bad and the recipe says `on_nan: skip`.

"step" in messages is the optimizer step being computed, counted from 1 (the `step` of metrics.jsonl).
A skipped step still advances the learning-rate schedule and the step counter.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from transformers import TrainerCallback

from fctrain.errors import FctrainError

IdResolver = Callable[[Any], list[str]]


class NonFiniteError(FctrainError):
    """Loss or gradients became NaN/inf; `.step` and `.sample_ids` say where."""

    def __init__(self, what: str, step: int, sample_ids: list[str]):
        self.what, self.step, self.sample_ids = what, step, sample_ids
        shown = ", ".join(sample_ids[:32]) + (f", ... ({len(sample_ids)} in all)" if len(sample_ids) > 32 else "")
        super().__init__(f"non-finite {what} at optimizer step {step}; samples in the batch: [{shown}]. "
                         "Check those samples (or lower the learning rate); set the stage's on_nan: skip to skip "
                         "such steps instead")


def ids_in_batch(inputs: Any) -> list[str] | None:
    """Sample ids a batch carries itself: a `sample_ids` entry (CKD) or raw rows with an `id` (GRPO)."""
    if isinstance(inputs, dict) and "sample_ids" in inputs:
        return [str(i) for i in inputs["sample_ids"]]
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict) and "id" in inputs[0]:
        return list(dict.fromkeys(str(r["id"]) for r in inputs))  # GRPO rows repeat per generation
    return None


def _finite(x) -> bool:
    if isinstance(x, torch.Tensor):
        return bool(torch.isfinite(x).all())
    return x is None or math.isfinite(float(x))


class NonFiniteGuard(TrainerCallback):
    def __init__(self, on_nan: Literal["error", "skip"] = "error", resolve_ids: IdResolver | None = None):
        if on_nan not in ("error", "skip"):
            raise FctrainError(f"on_nan must be 'error' or 'skip', got {on_nan!r}")
        self.on_nan, self.resolve_ids = on_nan, resolve_ids
        self.skipped = 0  # optimizer steps skipped
        self._batches: list[Any] = []  # this optimizer step's micro-batches (ids resolved only on failure)
        self._bad: str | None = None
        self._trainer = None

    def install(self, trainer) -> NonFiniteGuard:
        self._trainer = trainer
        training_step, grad_norm = trainer.training_step, trainer._get_grad_norm

        def guarded_training_step(model, inputs, *args, **kwargs):
            ids = inputs.pop("sample_ids", None) if isinstance(inputs, dict) else None
            self._batches.append(ids if ids is not None else inputs)
            loss = training_step(model, inputs, *args, **kwargs)
            if not _finite(loss):
                self._fail(f"loss ({float(loss)})")
            return loss

        def guarded_grad_norm(model, *args, **kwargs):
            norm = grad_norm(model, *args, **kwargs)
            if self._bad is None and not _finite(norm):
                self._fail(f"gradient norm ({norm})")
            return norm

        trainer.training_step = guarded_training_step
        trainer._get_grad_norm = guarded_grad_norm
        return self

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        """The optimizer exists now: under on_nan=skip a bad step does not reach it."""
        if optimizer is None or getattr(optimizer, "_fctrain_guarded", False):
            return
        step = optimizer.step

        @functools.wraps(step)  # keeps the marks torch's LR scheduler leaves on optimizer.step
        def guarded_step(*args, **kwargs):
            if self._bad is not None:
                self.skipped += 1
                return None
            return step(*args, **kwargs)

        optimizer.step = guarded_step
        optimizer._fctrain_guarded = True

    def on_step_begin(self, args, state, control, **kwargs):
        self._batches, self._bad = [], None

    def _fail(self, what: str) -> None:
        if self.on_nan == "skip":
            self._bad = what
            return
        step = self._trainer.state.global_step + 1
        raise NonFiniteError(what, step, self.sample_ids())

    def sample_ids(self) -> list[str]:
        out: list[str] = []
        for b in self._batches:
            ids = b if isinstance(b, list) and all(isinstance(i, str) for i in b) else ids_in_batch(b)
            if ids is None and self.resolve_ids is not None:
                ids = self.resolve_ids(b)
            out.extend(ids if ids is not None else ["<unknown>"])
        return list(dict.fromkeys(out))


def sft_id_resolver(tokenizer, samples: list[dict], **render) -> IdResolver:
    """Sample ids of an SFT batch, found by matching its token rows against the samples rendered again.

    SFT batches carry no ids (TRL's collator builds them from input_ids alone), so on failure each sample is
    rendered once more and looked up by its tokens; rows split on attention_mask (padded batches) or on
    position_ids restarting at 0 (packed, padding-free batches).
    """
    index: dict[tuple[int, ...], str] = {}

    def build() -> None:
        from fctrain.render import build_sft_rows

        for s in samples:
            rows = build_sft_rows(tokenizer, [s], on_truncated="skip", **render).rows
            if rows:
                index.setdefault(tuple(rows[0]["input_ids"]), str(s.get("id", "?")))

    def resolve(inputs) -> list[str]:
        if not isinstance(inputs, dict) or "input_ids" not in inputs:
            return ["<unknown>"]
        if not index:
            build()
        ids = inputs["input_ids"].cpu()
        rows: list[list[int]] = []
        if "attention_mask" in inputs:
            mask = inputs["attention_mask"].cpu().bool()
            rows = [ids[b][mask[b]].tolist() for b in range(ids.shape[0])]
        elif "position_ids" in inputs:
            flat, pos = ids.reshape(-1).tolist(), inputs["position_ids"].cpu().reshape(-1).tolist()
            starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
            rows = [flat[a:b] for a, b in zip(starts, starts[1:])]
        else:
            rows = ids.tolist()
        return [index.get(tuple(r), "<unknown>") for r in rows]

    return resolve


class WithSampleIds:
    """Wraps a collator whose features carry an `id`: the batch gets `sample_ids` (popped before the model)."""

    def __init__(self, collate, key: str = "id"):
        self.collate, self.key = collate, key

    def __call__(self, features: list[dict]) -> dict:
        batch = self.collate(features)
        batch["sample_ids"] = [str(f.get(self.key, "?")) for f in features]
        return batch
