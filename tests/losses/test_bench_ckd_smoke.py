"""scripts/bench_ckd.py runs end to end on CPU (tiny sizes) and every method computes the same loss."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_ckd.py"


@pytest.mark.slow
def test_bench_runs_on_cpu_and_methods_agree():
    cmd = [sys.executable, str(SCRIPT), "--device", "cpu", "--tokens", "24", "--vocab", "400", "--hidden", "16",
           "--k", "8", "--top-m", "8", "--chunk-size", "5", "--methods", "naive", "chunked", "fused"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\| 24 \| (\w+) \| [\d.]+ \| \d+ \| [\d.]+ \| ([\d.]+) \|$", proc.stdout, re.M)
    assert [name for name, _ in rows] == ["naive", "chunked", "fused"], proc.stdout
    losses = {float(loss) for _, loss in rows}
    assert len(losses) == 1, rows  # the naive STAR-style loss and ours agree (5 decimals)
