"""ROUGE-L parity: our F1 must equal rouge_score's rougeL (Porter stemmer) exactly, float for float."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rouge_score.rouge_scorer import RougeScorer

from fctrain.rewards.rouge import encode, encode_many, f1_from_lcs, rouge_l_f1, rouge_tokens

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SCORER = RougeScorer(["rougeL"], use_stemmer=True)
WORDS = ("the a running runs ran runner quickly quick brown foxes fox's jumped jumping over lazy dogs dog "
         "hotels hotel Paris paris NYC 2023-01-01 3.5 42 1,000 e-mail don't can't organization organizations "
         "generously generalization relational conditional rational valency digitizer SÃO São Ærø naïve "
         "café \u212a \u0130stanbul ÉTÉ straße ﬁnance ① ²").split()


def reference_f1(prediction: str, reference: str) -> float:
    return SCORER.score(reference, prediction)["rougeL"].fmeasure


def random_sentence(rng: random.Random, max_words: int) -> str:
    seps = [" ", " ", " ", ", ", "-", "\n", "  ", ". ", "/", "_"]
    parts = []
    for _ in range(rng.randint(0, max_words)):
        parts += [rng.choice(WORDS), rng.choice(seps)]
    return "".join(parts)


def random_chars(rng: random.Random, n: int) -> str:
    alphabet = "abcAB12 .,-\t\n_éß\u212a\u0130ÿ"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def test_random_sentence_pairs():
    rng = random.Random(0)
    for _ in range(2500):
        a, b = random_sentence(rng, 25), random_sentence(rng, 25)
        if rng.random() < 0.3:  # near-duplicates exercise long common subsequences
            b = " ".join(w for w in a.split() if rng.random() < 0.8) + random_sentence(rng, 4)
        assert rouge_l_f1(a, b) == reference_f1(a, b), (a, b)


def test_random_character_strings():
    rng = random.Random(1)
    for _ in range(1500):
        a, b = random_chars(rng, 40), random_chars(rng, 40)
        assert rouge_l_f1(a, b) == reference_f1(a, b), (a, b)


def test_long_texts_cross_the_64_token_word_size():
    rng = random.Random(2)
    for _ in range(30):
        a = random_sentence(rng, 300)
        b = " ".join(w for w in a.split() if rng.random() < 0.7) + " " + random_sentence(rng, 60)
        assert rouge_l_f1(a, b) == reference_f1(a, b)


def test_real_strings_from_xlam():
    path = SHARED_DATA / "xlam_messages_1k.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not present")
    texts = []
    with path.open() as f:
        for line in f:
            sample = json.loads(line)
            texts += [m["content"] for m in sample["messages"] if isinstance(m.get("content"), str)]
            texts += [t.get("description", "") for t in sample["tools"]]
            for message in sample["messages"]:
                for call in message.get("tool_calls") or []:
                    texts += [str(v) for v in call["arguments"].values()]
    rng = random.Random(3)
    for _ in range(2500):
        a, b = rng.choice(texts), rng.choice(texts)
        assert rouge_l_f1(a, b) == reference_f1(a, b), (a, b)


def test_tokens_and_direction():
    assert rouge_tokens("The Runners' running-shoes, 2x!") == ("the", "runner", "run", "shoe", "2x")
    a, b = "one two three four five six seven", "two four six eight"
    assert rouge_l_f1(a, b) == reference_f1(a, b) and rouge_l_f1(b, a) == reference_f1(b, a)
    assert f1_from_lcs(0, 3, 4) == 0.0 and f1_from_lcs(2, 0, 4) == 0.0
    assert rouge_l_f1("", "x") == 0.0 and rouge_l_f1("...", "...") == 0.0  # no tokens: rouge_score says 0


def test_encoding_is_one_code_point_per_token_and_shared():
    x, y = encode_many(["alpha beta alpha", "beta gamma"])
    assert len(x) == 3 and len(y) == 2 and x[0] == x[2] and x[1] == y[0] != y[1]
    assert encode("alpha beta alpha") == x
