"""Real generation on a tiny random model: batched left-padded greedy decoding, the full evaluation path,
`eval_main` (what `fctrain eval --model ...` runs) and the held-out reward scoring."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bfcl_eval")


def test_left_padded_batch_equals_one_by_one(tiny_tok, tiny_qwen3):
    from fctrain.eval.generate import hf_generate_fn

    prompts = ["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
               "<|im_start|>user\nwhat is the weather in Paris today?<|im_end|>\n<|im_start|>assistant\n"]
    batched = hf_generate_fn(tiny_qwen3, tiny_tok, batch_size=2, max_new_tokens=6)(prompts)
    single = hf_generate_fn(tiny_qwen3, tiny_tok, batch_size=1, max_new_tokens=6)
    assert batched == [single([p])[0] for p in prompts]
    assert all(isinstance(t, str) for t in batched)


def test_evaluate_bfcl_with_a_tiny_model(tmp_path, tiny_tok, tiny_qwen3):
    from fctrain.eval.bfcl_eval import evaluate_bfcl

    results = evaluate_bfcl(tiny_qwen3, tiny_tok, categories=["simple_python", "irrelevance"], limit=1,
                            out_dir=tmp_path, batch_size=2, max_new_tokens=3, model_name="tiny")
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["simple_python_0", "irrelevance_0"]
    # three random tokens never make a tool call: the AST question fails, the irrelevance one passes
    assert [r["valid"] for r in rows] == [False, True]
    assert results["categories"]["irrelevance"]["accuracy"] == 1.0
    assert results["latency"]["mean_s"] > 0
    assert (tmp_path / "accuracy_by_category.png").exists()


def test_eval_main_on_tiny_alias(tmp_path, capsys):
    from fctrain.eval.cli import eval_main

    results = eval_main("tiny-qwen3", categories=["live_simple"], limit=1, out=tmp_path, batch_size=1,
                        max_new_tokens=2, device="cpu")
    assert results["n_questions"] == 1
    assert json.loads((tmp_path / "results.json").read_text())["model"] == "tiny-qwen3"
    assert "live_simple" in capsys.readouterr().out


def test_eval_command_line_runs_a_multi_turn_category(tmp_path, capsys):
    from fctrain.cli import main

    assert main(["eval", "--model", "tiny-qwen3", "--categories", "multi_turn_base", "--limit", "1",
                 "--batch-size", "1", "--max-new-tokens", "2", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["prompt_format"] == "bfcl" and results["bfcl_handler"] == "QwenFCHandler"  # a Qwen3 model
    assert results["categories"]["multi_turn_base"]["total_count"] == 1
    assert results["overall_v4"]["built_from"] == ["multi_turn_base"]
    [row] = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(row["turns"]) == len(row["result"]) and row["turns"][0]["steps"][0]["prompt"]
    [entry] = [json.loads(line) for line in
               (tmp_path / "bfcl_result" / "BFCL_v4_multi_turn_base_result.json").read_text().splitlines()]
    assert entry == {"id": "multi_turn_base_0", "result": row["result"]}
    assert "overall_v4" in capsys.readouterr().out


def test_eval_command_line_offset_picks_a_dev_slice(tmp_path):
    from fctrain.cli import main
    from fctrain.eval.bfcl_data import load_category

    assert main(["eval", "--model", "tiny-qwen3", "--categories", "live_simple", "--limit", "1", "--offset", "3",
                 "--batch-size", "1", "--max-new-tokens", "2", "--out", str(tmp_path)]) == 0
    ids = [json.loads(line)["id"] for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert ids == [load_category("live_simple")[3].id]
    assert json.loads((tmp_path / "results.json").read_text())["offset"] == 3


def test_evaluate_heldout_scores_with_rewards(tiny_tok):
    from fctrain.eval.bfcl_eval import evaluate_heldout
    from fctrain.render import reference_of
    from fctrain.rewards import format_tool_calls
    from fctrain.testing import canonical_samples

    samples = [s for s in canonical_samples() if (reference_of(s) or {}).get("tool_calls")][:2]
    assert samples, "need samples whose reference calls a tool"
    answers = [format_tool_calls(reference_of(samples[0])["tool_calls"]), "<tool_call>\n{broken\n</tool_call>"]
    results = evaluate_heldout(None, tiny_tok, samples, generate_fn=lambda prompts: answers[: len(prompts)],
                               batch_size=2)
    assert results["n"] == 2
    assert results["exact_match"] == pytest.approx(0.5)
    assert results["similarity"] == pytest.approx(0.5)
    assert results["format_failure_rate"] == pytest.approx(0.5)
    assert results["similarity_reward"] == pytest.approx(0.0)  # (1 + -1) / 2


def test_eval_stage_writes_metrics(tmp_path):
    from fctrain.config.schema import ModelConfig, Recipe
    from fctrain.eval.stage import EvalStageConfig, run_eval
    from fctrain.stages.context import StageContext
    from fctrain.testing import canonical_samples

    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps(s) + "\n" for s in canonical_samples()[:2]))
    recipe = Recipe(model=ModelConfig(name_or_path="tiny-qwen3"), device="cpu")
    ctx = StageContext(run_dir=tmp_path, stage_dir=tmp_path / "00-eval", recipe=recipe, outputs={"val_path": str(val)})
    out = run_eval(ctx, EvalStageConfig(categories=["irrelevance"], limit=1, max_new_tokens=2, heldout_samples=2))
    metrics = out["metrics"]
    assert metrics["bfcl_irrelevance"] == 1.0 and metrics["bfcl_single_turn"] == 1.0
    assert {"heldout_similarity", "heldout_exact_match"} <= set(metrics)
    assert (tmp_path / "00-eval" / "results.json").exists() and (tmp_path / "00-eval" / "heldout.json").exists()


def test_a_format_whose_calls_are_special_tokens_keeps_them_in_the_text():
    """Gemma 4's call delimiters are special tokens: evaluation decodes its completions without skipping them."""
    import torch

    from fctrain.eval.generate import hf_generate_fn
    from fctrain.render.families import decode_skips_special_tokens
    from fctrain.testing import tiny_tokenizer

    assert not decode_skips_special_tokens("gemma4")
    assert decode_skips_special_tokens("qwen3") and decode_skips_special_tokens("llama3") and \
        decode_skips_special_tokens(None)
    tok = tiny_tokenizer()
    marker = tok.convert_tokens_to_ids("<|im_start|>")  # a special token that is not a stop token
    answer = [marker] + tok("call", add_special_tokens=False)["input_ids"]

    class Fixed(torch.nn.Module):  # "generates" the same answer for every prompt
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.generation_config = None

        def generate(self, input_ids, **_):
            return torch.cat([input_ids, torch.tensor([answer] * len(input_ids))], dim=1)

    texts = {skip: hf_generate_fn(Fixed(), tok, skip_special_tokens=skip)(["a prompt"])[0] for skip in (True, False)}
    assert texts[False] == "<|im_start|>call" and texts[True] == "call"
