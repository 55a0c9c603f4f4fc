"""`fctrain launch`: torchrun around `fctrain run`, so a recipe runs on N processes (or nodes) unchanged.

Equivalent by hand: `torchrun --nproc_per_node N -m fctrain.cli run RECIPE [k=v ...]`.
"""

from __future__ import annotations

import subprocess
import sys


def torchrun_command(args) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run",
        f"--nproc_per_node={args.nproc}", f"--nnodes={args.nnodes}", f"--node_rank={args.node_rank}",
        f"--master_addr={args.master_addr}", f"--master_port={args.master_port}",
        "-m", "fctrain.cli", "run", args.recipe, *args.overrides,
    ]


def launch(args) -> int:
    cmd = torchrun_command(args)
    print("+ " + " ".join(cmd), file=sys.stderr)
    # torchrun tears the whole job down when one rank fails, with that rank's traceback: no hang.
    return subprocess.call(cmd)
