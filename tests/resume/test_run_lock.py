"""One writer per run directory: a second run in a directory another process writes stops with a message
naming the holder; a lock left by a killed process is taken over (and said so); resume=never moves on to the
next free suffix; ranks of one torchrun job count as one writer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fctrain.run_dir import claim_run_dir
from fctrain.run_lock import LOCK_NAME, RunLocked, acquire

REPO = Path(__file__).resolve().parents[2]
SMOKE_SFT = REPO / "recipes" / "smoke" / "sft.yaml"
HOLDER = ("import sys, time\nfrom pathlib import Path\nfrom fctrain.run_lock import acquire\n"
          "lock = acquire(Path(sys.argv[1]))\nprint('locked', flush=True)\ntime.sleep(120)\n")


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run; yields (run_dir, process)."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield run_dir, proc
    finally:
        proc.kill()
        proc.wait()


def test_second_run_in_a_locked_directory_exits_with_a_clear_message(holder, capsys):
    from fctrain.cli import main

    run_dir, proc = holder
    rc = main(["run", str(SMOKE_SFT), f"output_dir={run_dir}", "resume=auto", "stages.sft.max_steps=1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{run_dir} is in use by another fctrain run (pid {proc.pid} on {socket.gethostname()}" in err
    assert "Traceback" not in err
    assert not (run_dir / "config.yaml").exists(), "the refused run must not write into the directory"


def test_lock_of_a_killed_process_is_stale_and_taken_over(holder):
    run_dir, proc = holder
    with pytest.raises(RunLocked):
        claim_run_dir(str(run_dir), "x", "auto")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    claim = claim_run_dir(str(run_dir), "x", "auto")
    try:
        assert claim.path == run_dir and not claim.created
        assert f"by pid {proc.pid} on {socket.gethostname()}" in claim.lock.stale_note()
        assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == os.getpid()
    finally:
        claim.lock.release()
    assert (run_dir / LOCK_NAME).read_text() == ""  # released: free, and nothing stale for the next run
    again = acquire(run_dir)
    assert again.stale_note() is None
    again.release()


def test_resume_never_moves_on_past_a_locked_directory(holder):
    run_dir, _ = holder
    claim = claim_run_dir(str(run_dir.parent / "{name}"), "run", "never")
    try:
        assert claim.path == run_dir.parent / "run-2" and claim.created
    finally:
        claim.lock.release()


def test_lock_left_on_another_host_is_refused_unless_it_is_this_torchrun_job(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    entry = {"pid": 4242, "host": "other-node", "job": "job7@10.0.0.1:29500", "started": "earlier"}
    (run_dir / LOCK_NAME).write_text(json.dumps(entry))
    with pytest.raises(RunLocked, match=r"names a run on another host \(pid 4242 on other-node.*delete"):
        acquire(run_dir)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    lock = acquire(run_dir)  # an elastic restart of the same job, rank 0 now on this node
    assert lock.took_over == entry
    lock.release()
