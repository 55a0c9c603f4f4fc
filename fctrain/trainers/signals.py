"""SIGTERM (a scheduler's preemption, `kill`, torchrun shutting a job down): save a checkpoint, then exit.

The handler only sets a flag; the trainer acts on it at the end of the current optimizer step by asking
Trainer to save (a complete, marked checkpoint, see checkpointing.py) and to stop. The stage then raises
`TrainingStopped`, a SystemExit with code 143 (128 + SIGTERM, the shell's convention), so the stage is not
marked complete and `fctrain run ... resume=auto` continues from that checkpoint. With several ranks the flag
is OR-reduced every step, so all ranks stop at the same step (one rank stopping alone would hang the others).
"""

from __future__ import annotations

import signal
import sys

from transformers import TrainerCallback

EXIT_CODE_SIGTERM = 143


class TrainingStopped(SystemExit):
    """Training stopped on SIGTERM after saving `checkpoint`; the process exits with code 143."""

    def __init__(self, step: int, checkpoint: str):
        super().__init__(EXIT_CODE_SIGTERM)
        self.step, self.checkpoint = step, checkpoint

    def __str__(self) -> str:
        return (f"stopped by SIGTERM after step {self.step}; checkpoint saved to {self.checkpoint}; "
                "rerun with resume=auto to continue")


class StopOnSigterm(TrainerCallback):
    """Installs a SIGTERM handler for the duration of training and turns the signal into save + stop."""

    def __init__(self):
        self.requested = False  # set by the handler
        self.stopped_at: int | None = None  # the step at which training stopped for it
        self._previous = None

    def _handle(self, signum, frame):
        self.requested = True
        print(f"fctrain: received signal {signum}; saving a checkpoint at the end of this step", file=sys.stderr)

    def on_train_begin(self, args, state, control, **kwargs):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread: leave signals to whoever owns them
            self._previous = None

    def on_train_end(self, args, state, control, **kwargs):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def _any_rank_requested(self) -> bool:
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self.requested
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        flag = torch.tensor([int(self.requested)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_step_end(self, args, state, control, **kwargs):
        if self._any_rank_requested():
            self.requested = True
            self.stopped_at = state.global_step
            control.should_save = True
            control.should_training_stop = True
        return control
