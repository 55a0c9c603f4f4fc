"""`xlam`: raw rows of Salesforce/xlam-function-calling-60k.

    {"id": 13811,
     "query": "Validate the CPF number 123.456.789-01.",
     "answers": "[{\"name\": \"validate_cpf_number\", \"arguments\": {\"n\": \"123.456.789-01\"}}]",
     "tools": "[{\"name\": \"validate_cpf_number\", \"description\": \"...\",
                 \"parameters\": {\"n\": {\"type\": \"str\", \"description\": \"...\", \"default\": \"\"}}}]"}

`answers` and `tools` are JSON text. The sample is one user turn and one assistant turn calling every
answer in parallel; its id is "xlam-<id>". An empty answer list has no reference reply to train on, so it
is rejected (reason "empty_answers").
"""

from __future__ import annotations

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import canonical_call, canonical_tools, parse_json_field, record_id, require
from fctrain.data.record_error import RecordError
from fctrain.data.sample import assistant, make_sample, user


@register_adapter("xlam")
def convert(record: dict) -> dict:
    query = require(record, "query", str)
    answers = parse_json_field(require(record, "answers", (str, list)), "answers", reason="bad_json_answers")
    if not isinstance(answers, list):
        raise RecordError("bad_field", "answers", f"expected a list of calls, got {type(answers).__name__}")
    if not answers:
        raise RecordError("empty_answers", "answers", "no calls: an xLAM row needs at least one answer")
    calls = [canonical_call(a, f"answers[{i}]") for i, a in enumerate(answers)]
    tools = canonical_tools(require(record, "tools", (str, list)))
    return make_sample(record_id(record, prefix="xlam-"), [user(query), assistant(None, calls)], tools)
