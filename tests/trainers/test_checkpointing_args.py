"""checkpointing_args names activation checkpointing the way this transformers release's TrainingArguments does."""

from __future__ import annotations

import dataclasses

from transformers import TrainingArguments

from fctrain.trainers.common import checkpointing_args


def test_training_arguments_accept_and_enable_it(tmp_path):
    on = checkpointing_args(True)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, **on)
    (name,) = (k for k in on if not k.endswith("_kwargs"))
    assert name in {f.name for f in dataclasses.fields(TrainingArguments)}
    assert getattr(args, name) is True and getattr(args, f"{name}_kwargs") == {"use_reentrant": False}
    off = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, **checkpointing_args(False))
    assert getattr(off, name) is False
