from __future__ import annotations

import json

import pytest

from fctrain.data import load_source, read_jsonl, write_jsonl
from fctrain.errors import ConfigError, DataError

TOOLS = [{"name": "f", "description": "", "parameters": {"a": {"type": "int", "description": "a"}}}]


def record(i, **extra):
    return {"id": f"r{i}", "tools": TOOLS, "messages": [
        {"role": "user", "content": f"call f with {i}"},
        {"role": "assistant", "content": None, "tool_calls": [{"name": "f", "arguments": {"a": i}}]}], **extra}


def broken_records():
    unknown = record(3)
    unknown["messages"][1]["tool_calls"][0]["name"] = "g"
    no_role = record(4)
    del no_role["messages"][0]["role"]
    bad_args = record(5)
    bad_args["messages"][1]["tool_calls"][0]["arguments"] = "{a: 1"
    return [record(1), "{not json", unknown, no_role, bad_args, record(6, tools=[]), record(7)]


def test_shared_xlam_file_loads_every_sample(shared_data):
    path = shared_data / "xlam_messages_1k.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent (a fresh clone has no ../shared)")
    result = load_source(path, "messages")
    assert len(result.samples) == 1024 and not result.skipped and not result.rejected
    assert len({s["id"] for s in result.samples}) == 1024
    parallel = sum(len(s["messages"][-1]["tool_calls"]) > 1 for s in result.samples)
    assert parallel == 536  # as documented in shared/data/README.md
    assert all(t["parameters"]["type"] == "object" for s in result.samples for t in s["tools"])


def test_error_names_file_line_and_field(write_jsonl_lines):
    path = write_jsonl_lines(broken_records())
    with pytest.raises(DataError, match=rf"{path}:2: invalid JSON"):
        load_source(path, "messages")
    path = write_jsonl_lines([record(1), broken_records()[2]])
    with pytest.raises(DataError, match=rf"{path}:2: messages\[1\]\.tool_calls\[0\]\.name: 'g' is not one of the tools"):
        load_source(path, "messages")


def test_a_line_that_is_not_an_object_names_file_and_line(tmp_path):
    from fctrain.data import read_jsonl

    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n[1, 2]\n')
    with pytest.raises(DataError, match=rf"{path}:3: expected a JSON object, got list"):
        read_jsonl(path)


def test_skip_counts_by_reason(write_jsonl_lines, capsys):
    path = write_jsonl_lines(broken_records())
    result = load_source(path, "messages", on_invalid="skip")
    assert [s["id"] for s in result.samples] == ["r1", "r7"]
    assert result.skipped == {"bad_json_line": 1, "unknown_tool": 1, "missing_role": 1, "bad_json_arguments": 1,
                              "empty_tools": 1}
    assert [r.split(": ", 1)[0] for r in result.rejected] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "skipped 5" in capsys.readouterr().err


def test_max_samples_and_default_ids(write_jsonl_lines):
    records = [record(i) for i in range(5)]
    for r in records:
        del r["id"]
    result = load_source(write_jsonl_lines(records, "mine.jsonl"), "messages", max_samples=3)
    assert [s["id"] for s in result.samples] == ["mine-1", "mine-2", "mine-3"]


def test_json_and_parquet_files(tmp_path):
    records = [record(i) for i in range(3)]
    (tmp_path / "d.json").write_text(json.dumps(records), encoding="utf-8")
    assert len(load_source(tmp_path / "d.json", "messages").samples) == 3
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": i, "query": f"q{i}", "answers": json.dumps([{"name": "f", "arguments": {"a": i}}]),
             "tools": json.dumps(TOOLS)} for i in range(4)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    result = load_source(tmp_path / "x.parquet", "xlam")
    assert [s["id"] for s in result.samples] == ["xlam-0", "xlam-1", "xlam-2", "xlam-3"]


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown data format 'xml'"):
        load_source(tmp_path, "xml")
    with pytest.raises(ConfigError, match="on_invalid"):
        load_source(tmp_path, "messages", on_invalid="ignore")
    with pytest.raises(DataError, match="no such file"):
        load_source(tmp_path / "missing.jsonl", "messages")


def test_write_jsonl_is_atomic_and_round_trips(tmp_path):
    samples = [record(i) for i in range(3)] + [{"id": "ü", "x": "東京"}]
    path = write_jsonl(tmp_path / "out" / "s.jsonl", samples)
    assert read_jsonl(path) == samples and [p.name for p in path.parent.iterdir()] == ["s.jsonl"]
    with pytest.raises(TypeError):
        write_jsonl(path, [{"bad": object()}])
    assert read_jsonl(path) == samples and [p.name for p in path.parent.iterdir()] == ["s.jsonl"]


def test_hub_ids_go_to_datasets(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, split):
        calls.append((name, split))
        return [record(1), record(2)]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = load_source("someone/tool-data", "messages", split="test")
    assert calls == [("someone/tool-data", "test")] and len(result.samples) == 2


def test_plugged_in_adapter_with_its_own_reader(tmp_path):
    from fctrain.data.adapters import ADAPTERS, register_adapter

    def read(path):  # e.g. BFCL: questions and answers in two files, joined by id
        answers = {a["id"]: a["call"] for a in map(json.loads, (path / "answers.jsonl").read_text().splitlines())}
        for line_no, q in enumerate(map(json.loads, (path / "questions.jsonl").read_text().splitlines()), start=1):
            yield f"{path}/questions.jsonl:{line_no}", {**q, "call": answers[q["id"]]}

    @register_adapter("pair-test", read=read)
    def convert(rec):
        return {"id": rec["id"], "tools": TOOLS, "messages": [
            {"role": "user", "content": rec["q"]}, {"role": "assistant", "content": None, "tool_calls": [rec["call"]]}]}

    try:
        (tmp_path / "questions.jsonl").write_text(json.dumps({"id": "q1", "q": "go"}) + "\n")
        (tmp_path / "answers.jsonl").write_text(json.dumps({"id": "q1", "call": {"name": "f", "arguments": {"a": 1}}}) + "\n")
        result = load_source(tmp_path, "pair-test")
        assert [s["id"] for s in result.samples] == ["q1"]
        assert result.samples[0]["tools"][0]["parameters"]["type"] == "object"  # load_source normalises tools
    finally:
        del ADAPTERS["pair-test"]
