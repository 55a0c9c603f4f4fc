"""BFCL multi-turn evaluation: conversations run in BFCL's environments, judged by BFCL's multi_turn_checker.

Per question (BFCL's entry from `bfcl_eval.utils.load_dataset_entry`: functions of the involved classes,
held-out functions for miss_func, language hints), as `BaseHandler.inference_multi_turn_prompting` does:
- the environment instances come from BFCL's executor and the entry's `initial_config` (long-context
  scenarios load BFCL's long states, by BFCL's own `long_context` switch);
- each turn adds its user messages (a holdout turn of miss_func: the "more functions" message, see
  fctrain.eval.multi_turn_prompts; miss_param needs nothing special: its questions leave a parameter out and
  BFCL's ground truth for that turn is empty);
- a step: the model answers; no call (or an undecodable answer) ends the turn; otherwise the calls run
  (fctrain.eval.multi_turn_exec: checked, never `eval`ed as model text), their results come back as tool
  messages and the model answers again. More than MAXIMUM_STEP_LIMIT steps in a turn force-quits the whole
  conversation (BFCL: counted wrong, "multi_turn:force_terminated").

Conversations are batched: every round, the next prompt of every unfinished conversation goes to the
generate function together.

Verdict: BFCL's `multi_turn_checker` (state and execution-response checks after every turn) on the decoded
calls of every step, as BFCL's `eval_runner` decodes them from the result file (steps without calls left
out); its instances are released afterwards.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fctrain.eval.bfcl_data import MULTI_TURN_CATEGORIES, select_slice
from fctrain.eval.generate import GenerateFn, timed_batches
from fctrain.eval.multi_turn_exec import release, run_calls


@dataclass
class MultiTurnQuestion:
    id: str
    category: str
    entry: dict  # BFCL's test entry as its inference reads it
    ground_truth: list[list[str]]  # per turn, BFCL's call strings


def step_limit() -> int:
    from fctrain.eval.bfcl_imports import bfcl_module

    return bfcl_module("constants.default_prompts").MAXIMUM_STEP_LIMIT


@lru_cache(maxsize=8)
def _ground_truth(category: str) -> dict[str, list]:
    from fctrain.eval.bfcl_imports import bfcl_module

    return {a["id"]: a["ground_truth"] for a in bfcl_module("utils").load_ground_truth_entry(category)}


def load_multi_turn(category: str, limit: int | None = None, seed: int | None = None,
                    offset: int = 0) -> list[MultiTurnQuestion]:
    """A category's questions in BFCL's order, sliced like single-turn ones (fctrain.eval.bfcl_data)."""
    from fctrain.errors import ConfigError
    from fctrain.eval.bfcl_prompts import bfcl_entries

    if category not in MULTI_TURN_CATEGORIES:
        raise ConfigError(f"multi-turn category must be one of {MULTI_TURN_CATEGORIES}, got {category!r}")
    truth = _ground_truth(category)
    entries = select_slice(bfcl_entries(category), limit, seed, offset)
    return [MultiTurnQuestion(e["id"], category, e, copy.deepcopy(truth[e["id"]])) for e in entries]


@dataclass
class Conversation:
    """One question's run: turns, steps, BFCL's result (raw responses) and the judge's decoded calls."""

    question: MultiTurnQuestion
    chat: Any  # BFCLConversation | ServedConversation
    run_name: str
    turn: int = 0
    steps_in_turn: int = 0
    responses: list[list[str]] = field(default_factory=list)  # BFCL result file: per turn, per step
    decoded: list[list[list[str]]] = field(default_factory=list)  # per turn, per step with calls
    turns: list[dict] = field(default_factory=list)  # the log written to predictions.jsonl
    execution_errors: int = 0
    format_failures: int = 0
    force_terminated: bool = False
    failure: str | None = None  # prompt building failed (BFCL would record an inference error)
    latency_s: float = 0.0
    done: bool = False

    def start(self) -> Conversation:
        self._begin_turn()
        return self

    def _begin_turn(self) -> None:
        entry = self.question.entry
        holdout = entry.get("missed_function", {}).get(str(self.turn))
        messages = self.chat.begin_turn(copy.deepcopy(entry["question"][self.turn]), holdout)
        self.responses.append([])
        self.decoded.append([])
        self.turns.append({"user": messages, "added_functions": [f["name"] for f in holdout or []], "steps": []})
        self.steps_in_turn = 0

    def _end_turn(self) -> None:
        self.turn += 1
        if self.turn >= len(self.question.entry["question"]):
            self.done = True
        else:
            self._begin_turn()

    def next_prompt(self) -> str | None:
        try:
            return self.chat.prompt()
        except Exception as e:  # e.g. a handler's formatter meeting a malformed stored call
            self.failure, self.done = f"building the prompt failed: {type(e).__name__}: {e}", True
            return None

    def feed(self, prompt: str, completion: str, latency: float) -> None:
        """One step: store the answer, run its calls, decide whether the turn (or conversation) goes on."""
        self.latency_s += latency
        response, parsed = self.chat.answer(completion)
        self.responses[-1].append(response)
        step = {"prompt": prompt, "completion": completion, "format_ok": parsed.ok,
                "format_error": parsed.reason, "calls": parsed.tool_calls if parsed.ok else []}
        self.turns[-1]["steps"].append(step)
        if not parsed.ok:
            self.format_failures += 1
        if not step["calls"]:
            return self._end_turn()
        strings, results, errors = run_calls(step["calls"], self.question.entry, self.run_name)
        self.chat.results(step["calls"], strings, results)
        self.decoded[-1].append(strings)
        self.execution_errors += errors
        step.update(call_strings=strings, results=results, execution_errors=errors)
        self.steps_in_turn += 1
        if self.steps_in_turn > step_limit():
            self.force_terminated, self.done = True, True


def run_conversations(conversations: list[Conversation], generate_fn: GenerateFn, batch_size: int,
                      progress: Callable[[int, int], None] | None = None) -> None:
    """Advance every conversation one step per round, generating all their next answers together."""
    rounds = 0
    while active := [c for c in conversations if not c.done]:
        pending = [(c, p) for c in active if (p := c.next_prompt()) is not None]
        if not pending:
            continue
        completions, latencies = timed_batches(generate_fn, [p for _, p in pending], batch_size)
        for (conv, prompt), completion, latency in zip(pending, completions, latencies):
            conv.feed(prompt, completion, latency)
        rounds += 1
        if progress:
            progress(rounds, len(pending))


def verdict(conv: Conversation) -> dict[str, Any]:
    """BFCL's verdict on a finished conversation (as eval_runner's _evaluate_single_multi_turn_entry)."""
    from fctrain.eval.bfcl_imports import bfcl_module

    question = conv.question
    if conv.failure:
        return {"valid": False, "error_message": conv.failure, "error_type": "multi_turn:inference_error"}
    if len(conv.responses) != len(question.ground_truth):
        return {"valid": False, "error_type": "multi_turn:force_terminated",
                "error_message": f"force-terminated after {step_limit()} steps in turn {conv.turn}"}
    checker = bfcl_module("eval_checker.multi_turn_eval.multi_turn_checker").multi_turn_checker
    try:
        return checker(conv.decoded, question.ground_truth, question.entry, question.category, conv.run_name)
    finally:
        release(conv.run_name, question.id)


def prediction(conv: Conversation) -> dict[str, Any]:
    """The predictions.jsonl record of one conversation, with BFCL's verdict."""
    judged = verdict(conv)
    valid = bool(judged.get("valid"))
    return {
        "id": conv.question.id, "category": conv.question.category, "prompt_format": conv.chat.prompt_kind,
        "valid": valid, "error": None if valid else judged.get("error_message"),
        "error_type": None if valid else judged.get("error_type"),
        "format_ok": conv.format_failures == 0,
        "format_error": None if conv.format_failures == 0 else f"{conv.format_failures} undecodable answers",
        "execution_errors": conv.execution_errors, "force_terminated": conv.force_terminated,
        "latency_s": conv.latency_s, "result": conv.responses, "decoded_calls": conv.decoded,
        "turns": conv.turns,
    }


def evaluate_multi_turn(questions: list[MultiTurnQuestion], make_chat: Callable[[dict], Any],
                        generate_fn: GenerateFn, *, batch_size: int = 8,
                        progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run and judge multi-turn questions; returns their prediction records (in question order).

    make_chat(entry) -> the conversation's message list (BFCLConversation / ServedConversation).
    """
    run_name = f"fctrain_{uuid.uuid4().hex[:12]}"  # BFCL keys live instances by model name + entry id
    conversations = [Conversation(q, make_chat(q.entry), run_name).start() for q in questions]
    try:
        run_conversations(conversations, generate_fn, batch_size, progress)
        return [prediction(c) for c in conversations]
    finally:
        for c in conversations:
            release(run_name, c.question.id)
