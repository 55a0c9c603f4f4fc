"""BFCL's single-turn data, read straight from the installed `bfcl-eval` package (version 2026.3.23, BFCL v4).

Evaluation categories (questions in bfcl_eval/data/BFCL_v4_<category>.json, answers in
bfcl_eval/data/possible_answer/): the Python single-turn AST categories below. The irrelevance categories
have no answers (correct = no call). `live_relevance` (correct = at least one call) is supported but is not
part of BFCL's non-live/live/overall aggregates, so it is off by default.

Categories BFCL ships but no longer scores (bfcl_eval/data/unused_datasets/) are never used for evaluation,
which makes them candidate TRAINING data for the demo (`bfcl_training_pool`):
    exec_simple, exec_multiple, exec_parallel, exec_parallel_multiple   ground truth = Python call strings
    sql                                                                 ground truth = possible-answer format
    rest            ground truth is the HTTP response, not the call       -> not usable
    chatable        no functions; its questions repeat simple_python's    -> not usable (would leak)
    multi_turn_composite   multi-turn                                     -> not usable here
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fctrain.data.adapters.bfcl import bfcl_record_to_sample, read_jsonl
from fctrain.errors import ConfigError, DataError

VERSION_PREFIX = "BFCL_v4"
NON_LIVE_CATEGORIES = ["simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"]
LIVE_CATEGORIES = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance"]
DEFAULT_CATEGORIES = NON_LIVE_CATEGORIES + LIVE_CATEGORIES
SINGLE_TURN_CATEGORIES = DEFAULT_CATEGORIES + ["live_relevance"]
# Executed in BFCL's environments by fctrain.eval.multi_turn (200 questions each).
MULTI_TURN_CATEGORIES = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                         "multi_turn_long_context"]
SUPPORTED_CATEGORIES = SINGLE_TURN_CATEGORIES + MULTI_TURN_CATEGORIES
TRAINING_CATEGORIES = ["exec_simple", "exec_multiple", "exec_parallel", "exec_parallel_multiple", "sql"]
UNUSABLE_CATEGORIES = {
    "rest": "ground truth is the API's HTTP response, not the call",
    "chatable": "no functions, and its questions repeat simple_python's (would leak into evaluation)",
    "multi_turn_composite": "multi-turn conversations",
}


def is_irrelevance(category: str) -> bool:
    return "irrelevance" in category


def is_relevance(category: str) -> bool:
    return category == "live_relevance"


@dataclass
class BFCLQuestion:
    """One evaluation question: BFCL's own records (for the checker) plus our canonical sample (for prompts)."""

    id: str
    category: str
    functions: list[dict]  # BFCL's function docs exactly as shipped (what ast_checker reads)
    possible_answer: list[dict] | None  # BFCL's ground truth; None for (ir)relevance
    sample: dict[str, Any]  # canonical sample; its last assistant message is the reference


def bfcl_data_dir() -> Path:
    try:
        return Path(str(resources.files("bfcl_eval") / "data"))
    except ModuleNotFoundError as e:
        raise ConfigError(
            "BFCL evaluation needs the bfcl-eval package: pip install --no-deps bfcl-eval==2026.3.23"
        ) from e


def _files(category: str) -> tuple[Path, Path | None]:
    data = bfcl_data_dir()
    name = f"{VERSION_PREFIX}_{category}.json"
    if category in SINGLE_TURN_CATEGORIES:
        answers = None if (is_irrelevance(category) or is_relevance(category)) else data / "possible_answer" / name
        return data / name, answers
    if category in TRAINING_CATEGORIES or category in UNUSABLE_CATEGORIES:
        unused = data / "unused_datasets"
        return unused / "question" / name, unused / "possible_answer" / name
    raise ConfigError(
        f"unknown BFCL category {category!r}; supported: {', '.join(SINGLE_TURN_CATEGORIES)}"
    )


@lru_cache(maxsize=32)
def _load_category(category: str) -> tuple[BFCLQuestion, ...]:
    question_path, answer_path = _files(category)
    questions = read_jsonl(question_path)
    answers = read_jsonl(answer_path) if answer_path else None
    if answers is not None and len(answers) != len(questions):
        raise DataError(f"{answer_path}: {len(answers)} answers for {len(questions)} questions")
    out = []
    for i, q in enumerate(questions):
        answer = answers[i] if answers is not None else None  # BFCL pairs questions and answers by position
        if answer is not None and answer.get("id") != q.get("id"):
            raise DataError(f"{answer_path}:{i + 1}: answer id {answer.get('id')!r} != question id {q.get('id')!r}")
        try:
            sample = bfcl_record_to_sample(q, answer["ground_truth"] if answer else None,
                                           irrelevant=answer is None)
        except DataError as e:
            raise DataError(f"{question_path}:{i + 1} (id {q.get('id')!r}): {e}") from e
        out.append(BFCLQuestion(q["id"], category, q["function"],
                                answer["ground_truth"] if answer else None, sample))
    return tuple(out)


def load_category(category: str, limit: int | None = None, seed: int | None = None,
                  offset: int = 0) -> list[BFCLQuestion]:
    """Questions of one category: all, the first `limit`, or (seed given) a seeded sample of `limit` kept in
    BFCL's order. `offset` first drops that many questions (a dev slice disjoint from a held-out first N)."""
    return select_slice(list(_load_category(category)), limit, seed, offset)


def select_slice(items: list, limit: int | None = None, seed: int | None = None, offset: int = 0) -> list:
    """Drop the first `offset` items, then keep all, the first `limit`, or (seed given) a seeded sample of
    `limit` kept in order. Shared by the single-turn and multi-turn loaders so slices mean the same."""
    if offset < 0:
        raise ConfigError(f"offset must be >= 0, got {offset}")
    items = items[offset:]
    if limit is None or limit >= len(items):
        return items
    if limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    if seed is None:
        return items[:limit]
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def load_questions(categories: list[str] | None = None, limit: int | None = None,
                   seed: int | None = None, offset: int = 0) -> list[BFCLQuestion]:
    """Questions of several categories (default: DEFAULT_CATEGORIES), `limit` per category."""
    categories = list(categories or DEFAULT_CATEGORIES)
    for c in categories:
        if c not in SINGLE_TURN_CATEGORIES:
            raise ConfigError(
                f"unknown or unsupported BFCL category {c!r}; supported: {', '.join(SINGLE_TURN_CATEGORIES)}"
            )
    return [q for c in categories for q in load_category(c, limit, seed, offset)]


def _user_texts(sample: dict) -> str:
    return "\n".join(m["content"].strip() for m in sample["messages"] if m["role"] == "user")


def bfcl_training_pool(categories: list[str] | None = None) -> list[dict[str, Any]]:
    """Canonical samples from BFCL categories never used for evaluation (exec_* and sql), for training.

    As a guard against leakage, a sample whose user text equals that of any evaluation question is dropped.
    """
    categories = list(categories or TRAINING_CATEGORIES)
    for c in categories:
        if c not in TRAINING_CATEGORIES:
            reason = UNUSABLE_CATEGORIES.get(c, "it is an evaluation category or unknown")
            raise ConfigError(f"BFCL category {c!r} cannot be used for training: {reason}")
    held_out = {_user_texts(q.sample) for c in SINGLE_TURN_CATEGORIES for q in _load_category(c)}
    return [q.sample for c in categories for q in _load_category(c) if _user_texts(q.sample) not in held_out]
