"""Exact resume inside a stage: SIGTERM saves a checkpoint and exits 143; SIGKILL in the middle of a save
leaves a partial checkpoint that is never used; resume=auto then ends where an uninterrupted run ends.

One chain on the SFT smoke recipe (8 steps, a checkpoint every 2):
    reference   uninterrupted, in this process
    run A       SIGTERM during step 3 -> checkpoint-3 (COMPLETE), exit code 143, stage not marked done
    run B       resumes from checkpoint-3; SIGKILLed (a separate process) while saving checkpoint-6
    run C       `fctrain run` resumes from checkpoint-4, the newest complete one, and finishes
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "smoke" / "sft.yaml"
MAX_STEPS = 8
COMMON = [f"stages.sft.max_steps={MAX_STEPS}", "stages.sft.save_steps=2", "stages.sft.save_total_limit=2",
          "data.sources.0.n=24", "data.val_fraction=0.0", "tracking.tensorboard=false", "tracking.logging_steps=1",
          "resume=auto"]


def overrides(run_dir: Path) -> list[str]:
    return [f"output_dir={run_dir}", *COMMON]


def losses(run_dir: Path) -> list[tuple[int, float]]:
    rows = [json.loads(x) for x in (run_dir / "01-sft" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [(r["step"], r["loss"]) for r in rows if "loss" in r]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "01-sft" / "model" / "model.safetensors"))


def checkpoint_dirs(run_dir: Path) -> dict[str, bool]:
    out = run_dir / "01-sft" / "trainer"
    return {p.name: (p / "COMPLETE").is_file() for p in out.glob("checkpoint-*")}


@pytest.fixture(scope="module")
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same float reductions as the OMP_NUM_THREADS=1 subprocess
    yield
    torch.set_num_threads(threads)


def run_in_process(run_dir: Path) -> None:
    from fctrain.cli import main

    assert main(["run", str(RECIPE), *overrides(run_dir)]) == 0


@pytest.fixture(scope="module")
def chain(tmp_path_factory, single_thread):
    from transformers import Trainer

    from fctrain.trainers.signals import EXIT_CODE_SIGTERM

    base = tmp_path_factory.mktemp("resume")
    ref, run = base / "ref", base / "run"
    run_in_process(ref)

    # Run A: a real SIGTERM to this process during step 3.
    original = Trainer.training_step

    def signalling_step(self, *args, **kwargs):
        if self.state.global_step == 2 and not getattr(self, "_sent", False):
            self._sent = True
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, *args, **kwargs)

    Trainer.training_step = signalling_step
    handler_before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stopped:
            run_in_process(run)
    finally:
        Trainer.training_step = original
    after_a = {"code": stopped.value.code, "checkpoints": checkpoint_dirs(run),
               "done": (run / "01-sft" / "outputs.json").exists()}
    after_a["handler_restored"] = signal.getsignal(signal.SIGTERM) == handler_before

    # Run B: resumes, then dies by SIGKILL after checkpoint-6's weights and optimizer are written.
    driver = textwrap.dedent("""
        import os, signal, sys
        from transformers import Trainer
        save_rng = Trainer._save_rng_state
        def dying_save(self, output_dir):
            if self.state.global_step == 6:
                os.kill(os.getpid(), signal.SIGKILL)
            return save_rng(self, output_dir)
        Trainer._save_rng_state = dying_save
        from fctrain.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    b = subprocess.run([sys.executable, "-c", driver, "run", str(RECIPE), *overrides(run)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    after_b = {"code": b.returncode, "checkpoints": checkpoint_dirs(run), "stdout": b.stdout,
               "losses": losses(run), "done": (run / "01-sft" / "outputs.json").exists()}

    # Run C: plain resume=auto, in this process.
    run_in_process(run)
    return {"ref": ref, "run": run, "a": after_a, "b": after_b, "sigterm_code": EXIT_CODE_SIGTERM}


def test_sigterm_saves_a_complete_checkpoint_and_exits_143(chain):
    a = chain["a"]
    assert a["code"] == chain["sigterm_code"] == 143
    assert a["checkpoints"] == {"checkpoint-2": True, "checkpoint-3": True}
    assert not a["done"], "a stage stopped by SIGTERM must not be marked complete"
    assert a["handler_restored"]


def test_sigkill_mid_save_leaves_an_unmarked_checkpoint_and_resume_skips_it(chain):
    b = chain["b"]
    assert b["code"] == -signal.SIGKILL
    assert "resuming 01-sft from" in b["stdout"] and b["stdout"].count("checkpoint-3") >= 1
    assert b["checkpoints"] == {"checkpoint-3": True, "checkpoint-4": True, "checkpoint-6": False}
    assert not b["done"]
    assert max(s for s, _ in b["losses"]) == 6  # steps 5-6 were logged, then lost with the kill
    outputs = json.loads((chain["run"] / "01-sft" / "outputs.json").read_text())
    assert outputs["metrics"]["resumed_from_step"] == 4  # checkpoint-6 had no COMPLETE marker


def test_resumed_run_matches_an_uninterrupted_one(chain):
    ref, run = losses(chain["ref"]), losses(chain["run"])
    assert [s for s, _ in ref] == list(range(1, MAX_STEPS + 1))
    assert [s for s, _ in run] == [s for s, _ in ref], "each step is logged exactly once"
    for (step, want), (_, got) in zip(ref, run):
        assert got == pytest.approx(want, rel=1e-5, abs=1e-6), f"loss at step {step}"
    w_ref, w_run = weights(chain["ref"]), weights(chain["run"])
    assert w_ref.keys() == w_run.keys()
    for name in w_ref:
        torch.testing.assert_close(w_run[name], w_ref[name], rtol=1e-5, atol=1e-6, msg=name)
    # the run moved away from its initialisation, so equal weights are not trivially equal
    assert losses(chain["ref"])[-1][1] < losses(chain["ref"])[0][1]
    # keep-last-2 rotation counted complete checkpoints only
    assert checkpoint_dirs(chain["run"]) == {"checkpoint-6": True, "checkpoint-8": True}
