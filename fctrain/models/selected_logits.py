"""Logits, or final hidden states, at selected positions only: [rows, V] instead of [batch, seq, V].

Training and the teacher cache need the vocabulary projection only where a token is predicted. transformers
from 5.25 on projects just the True positions of a boolean [batch, seq] `logits_to_keep` (flattened to
[rows, V]); earlier releases index `hidden_states[:, logits_to_keep]` and fail on a 2-D mask ("too many
indices", seen with transformers 5.17 on a GPU machine). There every position is projected and the rows are
selected afterwards: the same numbers, with a [batch, seq, V] tensor in between.
"""

from __future__ import annotations

import functools

import torch


@functools.cache
def boolean_logits_to_keep_supported() -> bool:
    """Whether this transformers release slices hidden states with a boolean 2-D `logits_to_keep`."""
    from transformers import modeling_utils

    return hasattr(modeling_utils, "slice_logits_to_keep")


def selected_logits(model, keep: torch.Tensor, **forward) -> torch.Tensor:
    """Logits [rows, V] at the True positions of keep [batch, seq], in (sample, position) order."""
    if boolean_logits_to_keep_supported():
        logits = model(**forward, logits_to_keep=keep, use_cache=False).logits
    else:
        logits = model(**forward, use_cache=False).logits
    return logits[keep] if logits.dim() == 3 else logits  # 3-D: a model that ignores a boolean mask


def selected_hidden_states(model, keep: torch.Tensor, **forward) -> torch.Tensor:
    """Final (normed) hidden states [rows, H] at the True positions of keep: the input of the output projection.

    The model itself projects one position per sequence (`logits_to_keep=1`, valid in every release)."""
    out = model(**forward, logits_to_keep=1, output_hidden_states=True, use_cache=False)
    return out.hidden_states[-1][keep]
