"""Pre-tokenised rows {"input_ids", "assistant_masks"} train with TRL's SFTTrainer, packed or not, and the
labels TRL builds from them are exactly the assistant tokens."""

from __future__ import annotations

import pytest

from fctrain.errors import MaskError
from fctrain.render import build_sft_rows, load_template_text, mask_runs, render_chat, sft_dataset
from fctrain.render.template import has_generation_markers
from fctrain.render.turns import render_turns


def test_rows_match_render_turns(tiny_tok, tool_samples):
    built = build_sft_rows(tiny_tok, tool_samples)
    expected = [r for s in tool_samples for r in render_turns(tiny_tok, s).rows]
    assert built.rows == [{"input_ids": r.input_ids, "assistant_masks": r.assistant_mask} for r in expected]
    assert not built.skipped
    # Qwen3's official template drops the empty think blocks of earlier turns: the 3-turn conversation becomes
    # 3 rows, and the data stats say so.
    assert built.stats() == {"rows": len(tool_samples) + 2, "one_sequence": len(tool_samples) - 1, "per_turn": 1,
                             "truncated": 0, "skipped": {}}


def test_truncation_skips_are_counted_or_raise(tiny_tok, tool_samples):
    full = [render_chat(tiny_tok, s, train_on="last_assistant") for s in tool_samples]
    lengths = [mask_runs(r.assistant_mask)[0][0] for r in full]  # prompt length before the first answer
    max_length = sorted(lengths)[1]  # the two shortest prompts fit, the others lose every assistant token
    built = build_sft_rows(tiny_tok, tool_samples, max_length=max_length + 1, train_on="last_assistant")
    assert sum(built.skipped.values()) == sum(n > max_length for n in lengths) == 2
    assert built.truncated == sum(n <= max_length and len(r.input_ids) > max_length + 1 for n, r in zip(lengths, full))
    assert all(len(row["input_ids"]) <= max_length + 1 and any(row["assistant_masks"]) for row in built.rows)
    with pytest.raises(MaskError, match="max_length"):
        build_sft_rows(tiny_tok, tool_samples, max_length=max_length + 1, on_truncated="error",
                       train_on="last_assistant")
    with pytest.raises(MaskError, match="no trainable sample"):
        sft_dataset(tiny_tok, tool_samples, max_length=2)


def test_template_error_is_never_skipped(tiny_tok, tool_samples):
    # fctrain's template without its generation markers and without <|im_end|>: no end of turn to train.
    plain = load_template_text("qwen3").replace("{{- '<|im_end|>' }}\n        {%- endgeneration %}", "")
    plain = plain.replace("{%- generation %}", "")
    assert not has_generation_markers(plain) and "<|im_end|>' }}\n        {{- '\\n'" not in plain
    with pytest.raises(MaskError, match="end-of-turn"):
        build_sft_rows(tiny_tok, tool_samples, template=plain)


@pytest.mark.parametrize("packing", [False, True])
def test_trl_sft_trainer_uses_our_masks(tiny_tok, tool_samples, tmp_path, packing):
    from trl import SFTConfig, SFTTrainer

    from fctrain.testing import tiny_model

    dataset, _ = sft_dataset(tiny_tok, tool_samples * 2)
    assert max(len(ids) for ids in dataset["input_ids"]) < 1024 // 2  # no truncation; two rows fit a pack
    args = SFTConfig(
        output_dir=str(tmp_path), max_length=1024, packing=packing, per_device_train_batch_size=2, max_steps=1,
        learning_rate=1e-3, report_to="none", save_strategy="no", logging_steps=1, use_cpu=True,
        dataloader_num_workers=0, shuffle_dataset=False,
    )
    trainer = SFTTrainer(model=tiny_model("qwen3"), args=args, train_dataset=dataset, processing_class=tiny_tok)
    prepared = trainer.train_dataset
    expected_label_count = sum(sum(row["assistant_masks"]) for row in dataset)
    assert sum(sum(label != -100 for label in row["labels"]) for row in prepared) == expected_label_count
    if not packing:
        for row, built in zip(prepared, dataset):
            assert row["labels"] == [t if m else -100 for t, m in zip(built["input_ids"], built["assistant_masks"])]
    else:
        assert len(prepared) < len(dataset)  # sequences were packed together
        result = trainer.train()  # one optimizer step on packed rows runs end to end
        assert result.training_loss > 0
