"""Teacher rollouts split across ranks: each rank samples its share of prompts, rank 0 joins the results.

Rank r of n takes prompts r, r+n, r+2n, ... and writes `rollouts.rank{r}-of-{n}.jsonl` (resumable on its
own, like the single-process file). Afterwards rank 0 writes `rollouts.jsonl` with every kept sample in the
original prompt order and all ranks return the same summary. The part files carry the world size in their
name, so a rerun with another number of ranks starts its parts afresh instead of mixing assignments.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RolloutShard:
    samples: list[dict]  # this rank's prompts
    part_path: Path  # where this rank writes
    final_path: Path  # the joined file every later stage reads
    rank: int
    world_size: int


def _part_paths(out_path: Path, n: int) -> list[Path]:
    stem = out_path.name.removesuffix(".jsonl")
    return [out_path.with_name(f"{stem}.rank{r}-of-{n}.jsonl") for r in range(n)]


def shard_rollouts(samples: list[dict], out_path: Path) -> RolloutShard:
    """This rank's prompts and part file (the whole list and `out_path` itself in a single process)."""
    from fctrain.distributed.ranks import rank, world_size

    n, r, out_path = world_size(), rank(), Path(out_path)
    if n == 1:
        return RolloutShard(list(samples), out_path, out_path, 0, 1)
    return RolloutShard(list(samples[r::n]), _part_paths(out_path, n)[r], out_path, r, n)


def join_rollouts(shard: RolloutShard, result: dict, prompt_ids: list[str]) -> dict:
    """Every rank's rollout summary summed; rank 0 writes the joined file. Returns the job-wide summary."""
    from fctrain.data import read_jsonl, write_jsonl
    from fctrain.distributed.ranks import all_gather_object, barrier, is_main

    if shard.world_size == 1:
        return result
    results = all_gather_object(result)
    if is_main():
        by_prompt: dict[str, list[dict]] = {}
        for part in _part_paths(shard.final_path, shard.world_size):
            for row in read_jsonl(part):
                by_prompt.setdefault(row["source_id"], []).append(row)
        write_jsonl(shard.final_path, [row for pid in prompt_ids for row in by_prompt.get(pid, [])])  # atomic
    barrier()  # the joined file exists before any rank reports it
    counts: Counter = Counter()
    for r in results:
        counts.update(r["counts"])
    kept, fallback = counts.get("kept", 0), counts.get("reference_fallback", 0)
    return {"data_path": str(shard.final_path), "prompts": sum(r["prompts"] for r in results), "kept": kept,
            "reference_fallback": fallback, "rejected": sum(counts.values()) - kept - fallback,
            "teacher_forced": sum(r.get("teacher_forced", 0) for r in results), "counts": dict(counts)}
