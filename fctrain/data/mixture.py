"""Mix sources by weight, drop duplicates, and split train/val by a hash of the sample id.

Duplicates: two samples are the same when their `content_hash` is: SHA-256 of the canonical JSON
(sorted keys, no whitespace) of {"messages", "tools" in a canonical order}. The id is left out, so the same task
loaded from two sources counts once; tool order is left out because it does not change the task.

Weights, without `total`: a weight is how many times a source is used: 1.0 = every sample once,
0.5 = a random half, 2.5 = everything twice plus a random half. With `total`: weights are relative shares,
source i gives round(total * w_i / sum(w)) samples (largest remainders make the sum exact), repeating
itself when it is smaller than its share. Deduplication happens before sampling, so the only repeats
are the ones the weights ask for. The result is shuffled with `seed`.

Split: a sample goes to validation when sha256(f"{seed}:{id}") read as a fraction (first 8 bytes / 2**64)
is below `val_fraction`. That is stable across runs, machines and Python versions (unlike `hash()`), and a
sample never changes side when other samples are added or removed.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Sequence

from fctrain.data.sources import LoadResult
from fctrain.errors import ConfigError


def content_hash(sample: dict) -> str:
    tools = sorted(sample.get("tools") or [], key=lambda t: json.dumps(t, sort_keys=True, ensure_ascii=False))
    content = {"messages": sample.get("messages"), "tools": tools}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _draw(samples: list[dict], count: int, rng: random.Random) -> list[dict]:
    """`count` samples: whole passes over the source, then a random subset for the remainder."""
    if not samples:
        return []
    full, rest = divmod(count, len(samples))
    return samples * full + rng.sample(samples, rest)


def _counts(sizes: list[int], weights: list[float], total: int | None) -> list[int]:
    if total is None:
        return [round(w * n) for w, n in zip(weights, sizes)]
    shares = [total * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])  # largest remainder first
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mix_sources(sources: Sequence[tuple[LoadResult | list[dict], float]], seed: int = 0,
                total: int | None = None, *, dedup: bool = True) -> LoadResult:
    """One shuffled sample list from weighted sources; `skipped` adds "duplicate" to the sources' counts."""
    if not sources:
        raise ConfigError("data.sources: expected at least one source to mix")
    weights = [float(w) for _, w in sources]
    if any(w < 0 or math.isnan(w) for w in weights) or (total is not None and sum(weights) <= 0):
        raise ConfigError(f"data.sources[*].weight: expected non-negative weights with a positive sum, got {weights}")
    if total is not None and total < 0:
        raise ConfigError(f"data.total: expected a non-negative integer, got {total}")
    rng = random.Random(f"mix:{seed}")
    skipped: Counter = Counter()
    seen_hashes: set[str] = set()
    ids: dict[str, str] = {}  # id -> content hash, to rename colliding ids of different samples
    pools, names = [], []
    for source, _ in sources:
        samples = source.samples if isinstance(source, LoadResult) else list(source)
        if isinstance(source, LoadResult):
            skipped.update(source.skipped)
            names.append(source.source)
        pool = []
        for sample in samples:
            digest = content_hash(sample)
            if dedup and digest in seen_hashes:
                skipped["duplicate"] += 1
                continue
            seen_hashes.add(digest)
            if ids.setdefault(sample["id"], digest) != digest:  # same id, other content: keep both, apart
                sample = {**sample, "id": f"{sample['id']}~{digest[:8]}"}
            pool.append(sample)
        pools.append(pool)
    counts = _counts([len(p) for p in pools], weights, total)
    mixed = [s for pool, count in zip(pools, counts) for s in _draw(pool, count, rng)]
    rng.shuffle(mixed)
    return LoadResult(samples=mixed, skipped=skipped, source=f"mix({', '.join(names)})")


def hash_fraction(key: str) -> float:
    """sha256(key) read as a fraction in [0, 1) (first 8 bytes / 2**64): stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def val_fraction_of(sample_id: str, seed: int = 0) -> float:
    """Where a sample id falls in [0, 1): the quantity `split_train_val` compares with val_fraction."""
    return hash_fraction(f"{seed}:{sample_id}")


def split_train_val(samples: Sequence[dict], val_fraction: float, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train, val), order kept. With val_fraction > 0 and at least two samples, val is never empty:
    if the hash put nothing there, the sample with the smallest hash goes (still deterministic)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction: expected a number in [0, 1), got {val_fraction!r}")
    positions = [val_fraction_of(s["id"], seed) for s in samples]
    in_val = [p < val_fraction for p in positions]
    if val_fraction > 0 and len(samples) >= 2 and not any(in_val):
        in_val[min(range(len(samples)), key=positions.__getitem__)] = True
    train = [s for s, v in zip(samples, in_val) if not v]
    val = [s for s, v in zip(samples, in_val) if v]
    return train, val
