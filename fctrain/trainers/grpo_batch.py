"""Join the scored rollout rounds of TRL's GRPOTrainer into one training batch (rows chosen by the filter).

A round is the dict `_generate_and_score_completions` returns: prompts left-padded, completions and every
per-token tensor right-padded, each round to its own width. Rows are taken from each round, re-padded to
a common width and concatenated; columns that are padding in every kept row are trimmed.
"""

from __future__ import annotations

import torch

from fctrain.errors import FctrainError

LEFT_PADDED = {"prompt_ids", "prompt_mask"}
ROW_KEYS = LEFT_PADDED | {
    "completion_ids", "completion_mask", "tool_mask", "advantages", "old_per_token_logps",
    "ref_per_token_logps", "sampling_per_token_logps", "importance_sampling_ratio",
}
RECOMPUTED = {"num_items_in_batch"}  # depends on the whole batch: the trainer recomputes it


def _pad_value(key: str, pad_token_id: int) -> float:
    if key.endswith("_ids"):
        return pad_token_id
    return 1 if key == "tool_mask" else 0  # TRL pads tool_mask with 1 (masked by completion_mask anyway)


def _pad_to(x: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    if x.dim() < 2 or x.size(1) == width:
        return x
    fill = x.new_full((x.size(0), width - x.size(1)), value)
    return torch.cat([fill, x] if left else [x, fill], dim=1)


def take_rows(rounds: list[dict], rows: list[list[int]], pad_token_id: int) -> dict:
    """Concatenate rows[i] of rounds[i] for every round; tensors keep their meaning, widths are unified."""
    unknown = {k for r in rounds for k in r} - ROW_KEYS - RECOMPUTED
    if unknown:
        raise FctrainError(f"dynamic filtering cannot join rollout fields {sorted(unknown)} (text-only GRPO)")
    out = {}
    for key in rounds[0]:
        if key in RECOMPUTED:
            continue
        parts = [r[key][torch.as_tensor(idx, dtype=torch.long, device=r[key].device)]
                 for r, idx in zip(rounds, rows) if idx]
        width = max(p.size(1) for p in parts) if parts[0].dim() == 2 else 0
        parts = [_pad_to(p, width, _pad_value(key, pad_token_id), key in LEFT_PADDED) for p in parts]
        out[key] = torch.cat(parts, dim=0)
    return trim_padding(out)


def trim_padding(batch: dict) -> dict:
    """Drop leading prompt columns and trailing completion columns that are padding in every row."""
    prompt_cols = int(batch["prompt_mask"].sum(dim=0).gt(0).long().argmax()) if batch["prompt_mask"].any() else 0
    if prompt_cols:
        for key in LEFT_PADDED:
            batch[key] = batch[key][:, prompt_cols:]
    used = batch["completion_mask"].sum(dim=0).gt(0).nonzero()
    width = int(used.max()) + 1 if used.numel() else 1
    for key, value in batch.items():
        if key not in LEFT_PADDED and value.dim() == 2 and value.size(1) > 1:
            batch[key] = value[:, :width]
    return batch
