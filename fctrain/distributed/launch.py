"""`fctrain launch`: torchrun around `fctrain run`, so a recipe runs on N processes (or nodes) unchanged.

Equivalent by hand: `torchrun --nproc_per_node N -m fctrain.cli run RECIPE [k=v ...]`. torchrun (not
`accelerate launch`) is enough: the Trainer builds its accelerate state from torchrun's environment, and a
recipe's `deepspeed:` config reaches DeepSpeed through TrainingArguments. On several nodes, run the same
command on every node with its own --node-rank and node 0's address (docs/distributed.md).
"""

from __future__ import annotations

import subprocess
import sys

from fctrain.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_launch_args(args) -> None:
    if args.nproc < 1 or args.nnodes < 1:
        raise ConfigError(f"launch: --nproc and --nnodes must be >= 1 (got {args.nproc}, {args.nnodes})")
    if not 0 <= args.node_rank < args.nnodes:
        raise ConfigError(f"launch: --node-rank must be in [0, {args.nnodes - 1}] (got {args.node_rank})")
    if args.nnodes > 1 and args.master_addr in LOOPBACK:
        # Every node would wait for a rendezvous on its own loopback address: nothing ever connects.
        raise ConfigError("launch: with --nnodes > 1, --master-addr must be node 0's address as the other "
                          f"nodes reach it (got {args.master_addr})")


def torchrun_command(args) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run",
        f"--nproc_per_node={args.nproc}", f"--nnodes={args.nnodes}", f"--node_rank={args.node_rank}",
        f"--master_addr={args.master_addr}", f"--master_port={args.master_port}",
        "-m", "fctrain.cli", "run", args.recipe, *args.overrides,
    ]


def launch(args) -> int:
    check_launch_args(args)
    cmd = torchrun_command(args)
    print("+ " + " ".join(cmd), file=sys.stderr)
    # torchrun tears the whole job down when one rank fails, with that rank's traceback: no hang.
    return subprocess.call(cmd)
