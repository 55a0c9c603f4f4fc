"""selected_logits / selected_hidden_states: the rows of the full logits at the kept positions, with and without
transformers' boolean `logits_to_keep` (older releases fail on a 2-D mask and take the fallback)."""

from __future__ import annotations

import pytest
import torch

import fctrain.models.selected_logits as selected


def batch():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 200, (3, 11), generator=gen)
    attn = torch.ones_like(ids)
    attn[1, 8:] = 0  # right padding
    keep = torch.rand(ids.shape, generator=gen) > 0.5
    keep[1, 8:] = False
    return dict(input_ids=ids, attention_mask=attn), keep


class OldTransformers(torch.nn.Module):
    """A model as transformers < 5.25 runs it: a 2-D tensor `logits_to_keep` fails as it does there."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, logits_to_keep=0, **kwargs):
        if isinstance(logits_to_keep, torch.Tensor) and logits_to_keep.dim() == 2:
            raise IndexError("too many indices for tensor of dimension 3")
        return self.model(logits_to_keep=logits_to_keep, **kwargs)


@pytest.mark.parametrize("arch", ["tiny_qwen3", "tiny_llama"])
@pytest.mark.parametrize("boolean_mask", [True, False])
def test_rows_equal_the_full_logits_at_kept_positions(request, monkeypatch, arch, boolean_mask):
    if boolean_mask and not selected.boolean_logits_to_keep_supported():
        pytest.skip("this transformers release has no boolean logits_to_keep (the fallback cases cover it)")
    model = request.getfixturevalue(arch)
    monkeypatch.setattr(selected, "boolean_logits_to_keep_supported", lambda: boolean_mask)
    forward, keep = batch()
    with torch.no_grad():
        full = model(**forward).logits[keep]
        runner = model if boolean_mask else OldTransformers(model)
        rows = selected.selected_logits(runner, keep, **forward)
        hidden = selected.selected_hidden_states(OldTransformers(model), keep, **forward)
    assert rows.shape == (int(keep.sum()), model.config.vocab_size)
    torch.testing.assert_close(rows, full, rtol=1e-5, atol=1e-5)
    # the final hidden states are the output projection's input (after the last norm)
    torch.testing.assert_close(hidden @ model.get_output_embeddings().weight.T, full, rtol=1e-5, atol=1e-5)


def test_this_transformers_takes_a_boolean_mask():
    # The CPU venv installs a current transformers (>= 5.25); the fallback is for older releases in GPU users' own
    # environments. If this fails (the helper renamed, say), every training step would project all positions.
    assert selected.boolean_logits_to_keep_supported()
