from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter

convert = get_adapter("xlam")

ROW = {"id": 13811, "query": "Validate CPF 123.456.789-01 and give Brazil's population.",
       "answers": json.dumps([{"name": "validate_cpf_number", "arguments": {"n": "123.456.789-01"}},
                              {"name": "get_country_population", "arguments": {"country": "Brazil"}}]),
       "tools": json.dumps([
           {"name": "validate_cpf_number", "description": "Validates a CPF.",
            "parameters": {"n": {"description": "The CPF.", "type": "str", "default": "123.456.789-09"}}},
           {"name": "get_country_population", "description": "Population.",
            "parameters": {"country": {"description": "Country.", "type": "str", "default": "Egypt"},
                           "year": {"description": "Year.", "type": "int, optional", "default": ""}}}])}


def test_row_becomes_parallel_call_sample():
    sample = convert(ROW)
    assert sample["id"] == "xlam-13811" and validate_sample(sample) == []
    assert [m["role"] for m in sample["messages"]] == ["user", "assistant"]
    assert [c["name"] for c in sample["messages"][1]["tool_calls"]] == ["validate_cpf_number", "get_country_population"]
    params = sample["tools"][1]["parameters"]
    assert params["required"] == ["country"] and params["properties"]["year"]["type"] == "integer"


@pytest.mark.parametrize("edit, reason, field", [
    (lambda r: r.update(answers='[{"name": "f", "arguments": {"a": }}]'), "bad_json_answers", "answers"),
    (lambda r: r.update(answers='[{"name": "f", "arguments": "{bad"}]'), "bad_json_arguments", "answers[0].arguments"),
    (lambda r: r.update(answers="[]"), "empty_answers", "answers"),
    (lambda r: r.pop("query"), "missing_field", "query"),
    (lambda r: r.update(tools="{oops"), "bad_json_tools", "tools"),
    (lambda r: r.update(answers='[{"arguments": {}}]'), "bad_call", "answers[0].name"),
])
def test_malformed_rows(edit, reason, field):
    row = dict(ROW)
    edit(row)
    with pytest.raises(RecordError) as info:
        convert(row)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_unknown_tool_and_empty_tools_fail_validation():
    row = dict(ROW, answers=json.dumps([{"name": "nope", "arguments": {}}]))
    assert any("'nope' is not one of the tools" in p for p in validate_sample(convert(row)))
    row = dict(ROW, tools="[]")
    assert any("has no tools" in p for p in validate_sample(convert(row)))


def test_unicode_query():
    sample = convert(dict(ROW, query="Population du Brésil ? 人口 🇧🇷"))
    assert sample["messages"][0]["content"].endswith("🇧🇷") and validate_sample(sample) == []
