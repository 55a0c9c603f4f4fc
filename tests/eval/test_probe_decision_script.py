"""scripts/probe_decision.py runs on a tiny model and splits a samples file into call / decline prompts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fctrain.data.irrelevance import contrast_pairs
from fctrain.data.synthetic import generate_tasks

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "probe_decision.py"


def test_probe_counts_call_and_decline_prompts(tmp_path):
    samples = contrast_pairs(generate_tasks(12, seed=0), n=3)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    proc = subprocess.run([sys.executable, str(SCRIPT), "tiny-qwen3", "--samples", str(path)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = dict(re.findall(r"^(call prompts|decline prompts)\s+(\d+)\s+\d+\s+[\d.]+$", proc.stdout, re.M))
    assert rows == {"call prompts": "3", "decline prompts": "3"}, proc.stdout
