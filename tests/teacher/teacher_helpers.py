"""Small canonical samples and tiny models shared by the teacher and distillation tests."""

from __future__ import annotations

from pathlib import Path

WEATHER = {"name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                           "units": {"type": "string"}}, "required": ["city"]}}
FLIGHTS = {"name": "search_flights", "description": "Find flights.",
           "parameters": {"type": "object", "properties": {"origin": {"type": "string"},
                                                           "destination": {"type": "string"}}}}
CITIES = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Seoul"]


def make_samples(n: int, *, prefix: str = "s", tools: list[dict] | None = None) -> list[dict]:
    """n small tool-calling samples (alternating a call and a text reply), ids prefix-0.. prefix-(n-1)."""
    tools = [WEATHER, FLIGHTS] if tools is None else tools
    out = []
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        if i % 2 == 0:
            answer = {"role": "assistant", "content": None,
                      "tool_calls": [{"name": "get_weather", "arguments": {"city": city, "units": "celsius"}}]}
        else:
            answer = {"role": "assistant", "content": f"The weather in {city} is sunny today.", "tool_calls": None}
        out.append({"id": f"{prefix}-{i}", "tools": tools,
                    "messages": [{"role": "user", "content": f"What is the weather in {city} today?"}, answer]})
    return out


def shared_data_dir() -> Path:
    """/work/shared/data next to the repository (absent on other machines: tests skip)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"
