"""Offline data sources built into fctrain, named in a recipe as `data.sources[].path` (or format):

    synthetic               the deterministic tool-calling task generator (fctrain.data.synthetic); n, seed
    bfcl_train              BFCL's never-evaluated categories (exec_*, sql): 340 samples, with any question
                            whose text equals an evaluation question removed; max_samples; `split` picks
                            categories ("exec_parallel,exec_multiple"; "train" = all of them)
    bfcl_train_irrelevance  n irrelevance samples made from bfcl_train by tool swapping (fctrain.data.irrelevance)
    bfcl_train_pairs        n contrast groups from bfcl_train ((1 + negatives) * n samples): a request with its own
                            tools (call) and the same request with `negatives` other requests' tools (reply, no
                            call); split as above
"""

from __future__ import annotations


def _synthetic(src) -> list[dict]:
    from fctrain.data.synthetic import generate_tasks

    return generate_tasks(src.n, seed=src.seed)


def _bfcl_categories(src) -> list[str] | None:
    """`split` names BFCL training categories, comma-separated; the default "train" means all of them."""
    if src.split in ("", "train"):
        return None
    return [c.strip() for c in src.split.split(",") if c.strip()]


def _bfcl_train(src) -> list[dict]:
    from fctrain.eval.bfcl_data import bfcl_training_pool

    return bfcl_training_pool(_bfcl_categories(src))[: src.max_samples]


def _bfcl_train_irrelevance(src) -> list[dict]:
    from fctrain.data.irrelevance import swap_tools_irrelevance
    from fctrain.eval.bfcl_data import bfcl_training_pool

    return swap_tools_irrelevance(bfcl_training_pool(_bfcl_categories(src)), src.n, seed=src.seed)


def _bfcl_train_pairs(src) -> list[dict]:
    from fctrain.data.irrelevance import contrast_pairs
    from fctrain.eval.bfcl_data import bfcl_training_pool

    return contrast_pairs(bfcl_training_pool(_bfcl_categories(src)), src.n, seed=src.seed, negatives=src.negatives)


BUILTIN_SOURCES = {
    "synthetic": _synthetic,
    "bfcl_train": _bfcl_train,
    "bfcl_train_irrelevance": _bfcl_train_irrelevance,
    "bfcl_train_pairs": _bfcl_train_pairs,
}
