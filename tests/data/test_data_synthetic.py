from __future__ import annotations

import json
from collections import Counter

from fctrain.data import generate_tasks, validate_sample
from fctrain.data.synthetic_tools import TOOLS


def test_tasks_are_valid_and_deterministic():
    tasks = generate_tasks(400, seed=0)
    assert all(validate_sample(t) == [] for t in tasks), [validate_sample(t) for t in tasks if validate_sample(t)][:3]
    assert tasks == generate_tasks(400, seed=0)
    assert generate_tasks(50, seed=0) == tasks[:50]  # sample i depends only on (seed, i)
    assert generate_tasks(50, seed=1) != tasks[:50]
    assert len({t["id"] for t in tasks}) == 400
    json.dumps(tasks)  # plain JSON


def test_mix_of_task_kinds():
    tasks = generate_tasks(1000, seed=7)
    kinds = Counter()
    for t in tasks:
        calls = t["messages"][-1]["tool_calls"]
        kinds["irrelevant" if not calls else "parallel" if len(calls) > 1 else "single"] += 1
        called = {c["name"] for c in calls}
        assert 1 <= len(t["tools"]) - len(called) <= 3  # 1-3 distractors
    assert 0.08 < kinds["irrelevant"] / 1000 < 0.16
    assert 0.18 < kinds["parallel"] / 1000 < 0.32
    assert len({t["tools"][0]["name"] for t in tasks}) >= 30
    assert len({t["messages"][0]["content"] for t in tasks}) > 850  # mostly distinct requests


def test_irrelevant_tasks_never_offer_the_needed_tool():
    for t in generate_tasks(600, seed=3):
        reply = t["messages"][-1]
        if not reply["tool_calls"]:
            assert "none of the available tools can" in reply["content"]
            capability = reply["content"].split("can ", 1)[1].split(",")[0].rstrip(".")
            assert all(tool.capability != capability for tool in TOOLS if tool.name in {x["name"] for x in t["tools"]})


def test_values_need_normalising_not_copying():
    tasks = generate_tasks(800, seed=0)
    args = [(t["messages"][0]["content"], c["arguments"]) for t in tasks for c in t["messages"][-1]["tool_calls"]]
    dates = [(text, a["date"]) for text, a in args if "date" in a]
    assert any(date not in text for text, date in dates) and any(date in text for text, date in dates)
    assert any(a.get("to_currency") == "EUR" and "euros" in text for text, a in args)


def test_every_phrasing_mentions_every_required_parameter():
    for tool in TOOLS:
        assert set(tool.required) <= set(tool.params), tool.name
        for text, fixed in tool.phrasings:
            missing = [p for p in tool.required if "{" + p + "}" not in text and p not in fixed]
            assert not missing, (tool.name, text, missing)
            assert set(fixed) <= set(tool.params)
