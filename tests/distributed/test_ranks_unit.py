"""Single-process checks of the distributed helpers: no-ops outside torchrun, rank sharding, launch checks."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest
import torch

from fctrain.errors import ConfigError


def test_collectives_are_noops_in_one_process(monkeypatch):
    from fctrain.distributed import ranks

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert not ranks.is_distributed() and ranks.is_main()
    assert ranks.init_distributed("cpu") is False
    assert ranks.broadcast_object({"a": 1}) == {"a": 1}
    assert ranks.all_gather_object(3) == [3]
    calls = []
    assert ranks.main_first(lambda: calls.append(1) or "x") == "x"
    assert ranks.on_main(lambda: calls.append(2) or "y") == "y"
    assert calls == [1, 2]  # each ran exactly once
    ranks.barrier()


def test_rollout_shards_split_prompts_by_rank(monkeypatch, tmp_path):
    from fctrain.distributed.rollout_shards import shard_rollouts

    samples = [{"id": f"s{i}"} for i in range(7)]
    out = tmp_path / "rollouts.jsonl"
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single = shard_rollouts(samples, out)
    assert single.samples == samples and single.part_path == out == single.final_path
    monkeypatch.setenv("WORLD_SIZE", "2")
    parts = []
    for r in (0, 1):
        monkeypatch.setenv("RANK", str(r))
        shard = shard_rollouts(samples, out)
        assert shard.final_path == out and shard.part_path.name == f"rollouts.rank{r}-of-2.jsonl"
        parts.append([s["id"] for s in shard.samples])
    assert parts == [["s0", "s2", "s4", "s6"], ["s1", "s3", "s5"]]


def test_param_digest_sees_a_single_changed_weight():
    from fctrain.distributed.sync_check import param_digest

    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)).to(torch.bfloat16)
    b = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)).to(torch.bfloat16)
    b.load_state_dict(a.state_dict())
    assert param_digest(a) == param_digest(b)
    with torch.no_grad():
        b[1].bias[0] += 0.25  # one element of one tensor
    assert param_digest(a) != param_digest(b)


def _launch_args(**kw):
    base = {"nproc": 8, "nnodes": 1, "node_rank": 0, "master_addr": "127.0.0.1", "master_port": 29500,
            "recipe": "r.yaml", "overrides": ["deepspeed=zero2"]}
    return Namespace(**{**base, **kw})


def test_launch_command_and_checks():
    from fctrain.distributed.launch import check_launch_args, torchrun_command

    cmd = torchrun_command(_launch_args(nnodes=2, node_rank=1, master_addr="10.0.0.1"))
    assert cmd[1:3] == ["-m", "torch.distributed.run"]
    assert {"--nproc_per_node=8", "--nnodes=2", "--node_rank=1", "--master_addr=10.0.0.1"} <= set(cmd)
    assert cmd[-5:] == ["-m", "fctrain.cli", "run", "r.yaml", "deepspeed=zero2"]
    check_launch_args(_launch_args())
    with pytest.raises(ConfigError, match="master-addr"):
        check_launch_args(_launch_args(nnodes=2, node_rank=1))
    with pytest.raises(ConfigError, match="node-rank"):
        check_launch_args(_launch_args(nnodes=2, node_rank=2, master_addr="10.0.0.1"))


def test_named_deepspeed_configs_ship():
    import json

    from fctrain.distributed.deepspeed_configs import NAMED, resolve_deepspeed

    stages = {name: json.loads(Path(resolve_deepspeed(name)).read_text())["zero_optimization"]["stage"]
              for name in NAMED}
    assert stages == {"zero1": 1, "zero2": 2, "zero3": 3, "zero3_offload": 3}
    with pytest.raises(ConfigError, match="zero1"):
        resolve_deepspeed("zero4")
