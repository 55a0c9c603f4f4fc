"""ROUGE-L F1 equal in value to `rouge_score`'s rougeL with the Porter stemmer, but fast.

rouge_score spends its time in two places: tokenising + stemming every string on every call, and a
pure-Python O(m*n) LCS table (tens of milliseconds for two 300-word replies). We keep its tokeniser
(`rouge_score.tokenize.tokenize`'s regexes and nltk's PorterStemmer, step for step, with the per-word
stem-and-filter result memoised), cache the tokens per string, intern every token as one code point of a private "alphabet"
string, and run the LCS on those strings with rapidfuzz's bit-parallel `LCSseq` (C++). The F1 is then
computed with exactly the float operations of `rouge_score.rouge_scorer._score_lcs` +
`scoring.fmeasure`, so values are bit-identical, not just close.

Direction matters for the last bit of the float: `rouge_l_f1(prediction, reference)` equals
`RougeScorer(["rougeL"], use_stemmer=True).score(target=reference, prediction=prediction)["rougeL"].fmeasure`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from nltk.stem import porter
from rapidfuzz.distance import LCSseq
from rouge_score import tokenize as rouge_tokenize

_CACHE_SIZE = 1 << 16


_NON_ALPHANUM = re.compile(rouge_tokenize.NON_ALPHANUM_PATTERN)
_VALID_TOKEN = re.compile(rouge_tokenize.VALID_TOKEN_PATTERN)
_STEMMER = porter.PorterStemmer()
_WORD_TOKENS: dict[str, str] = {}  # word -> its token ("" when rouge_score would drop it)
_WORD_CACHE_LIMIT = 1 << 20


def _word_token(word: str) -> str:
    """rouge_score's per-word step: Porter-stem words longer than 3 characters, drop invalid tokens."""
    token = _WORD_TOKENS.get(word)
    if token is None:
        if len(_WORD_TOKENS) >= _WORD_CACHE_LIMIT:
            _WORD_TOKENS.clear()
        token = _STEMMER.stem(word) if len(word) > 3 else word
        token = _WORD_TOKENS[word] = token if _VALID_TOKEN.match(token) else ""
    return token


# For ASCII text, lower() only maps A-Z, so one bytes.translate does "lower-case, non-[a-z0-9] -> space".
_ASCII_TABLE = bytes(c + 32 if 65 <= c <= 90 else c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))


def _words(text: str) -> list[str]:
    # rouge_score.tokenize.tokenize's first steps: lower-case, every non-[a-z0-9] run -> one space, split.
    # After the substitution only [a-z0-9 ] remain, so str.split() gives the words its re.split(r"\s+")
    # gives, minus the empty strings that its final validity filter drops anyway.
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).decode("ascii").split()
    return _NON_ALPHANUM.sub(" ", text.lower()).split()


def _tokens(text: str) -> list[str]:
    """rouge_score's tokens, step for step: words, Porter stem (longer than 3 chars), keep valid tokens."""
    return [t for t in map(_word_token, _words(text)) if t]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def rouge_tokens(text: str) -> tuple[str, ...]:
    """rouge_score's tokens for `text` (lower-case, alphanumeric runs, Porter-stemmed when longer than 3)."""
    return tuple(_tokens(text))


class _Alphabet:
    """Token -> one code point, so a token sequence becomes a str that rapidfuzz compares natively.

    `word_codes` maps a word straight to its token's code ("" when rouge_score drops the word), which
    makes encoding one dict lookup per word. Surrogates are skipped. When a string could overflow the
    1.1M code points, the alphabet is reset with the encoding cache and `generation` increases; callers
    that encode several strings re-encode them when the generation moved in between (`encode_many`).
    """

    LIMIT = 0x110000 - 0x800

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.word_codes: dict[str, str] = {}
        self.generation = 0

    def _code(self, token: str) -> str:
        c = self.codes.get(token)
        if c is None:
            n = len(self.codes)
            c = self.codes[token] = chr(n if n < 0xD800 else n + 0x800)
        return c

    def encode_words(self, words: Sequence[str]) -> str:
        if len(self.codes) + len(words) > self.LIMIT or len(self.word_codes) + len(words) > 4 * self.LIMIT:
            self.codes.clear()
            self.word_codes.clear()
            encode.cache_clear()
            self.generation += 1
        word_codes = self.word_codes
        try:
            return "".join([word_codes[w] for w in words])
        except KeyError:
            for w in words:
                if w not in word_codes:
                    token = _word_token(w)
                    word_codes[w] = self._code(token) if token else ""
            return "".join([word_codes[w] for w in words])


_ALPHABET = _Alphabet()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def encode(text: str) -> str:
    """The token sequence of `text` as a str of interned code points (one character per token)."""
    return _ALPHABET.encode_words(_words(text))


def encode_many(texts: Sequence[str]) -> list[str]:
    """`encode` for several strings, all under the same alphabet."""
    while True:
        generation = _ALPHABET.generation
        out = [encode(t) for t in texts]
        if _ALPHABET.generation == generation:
            return out


def f1_from_lcs(lcs: int, n_prediction: int, n_reference: int) -> float:
    """rouge_score's `_score_lcs` + `scoring.fmeasure`, operation for operation (bit-identical floats)."""
    if n_prediction == 0 or n_reference == 0:
        return 0.0
    precision = lcs / n_prediction
    recall = lcs / n_reference
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of `prediction` against `reference`, equal to rouge_score's rougeL (stemmed) fmeasure."""
    p, r = encode_many((prediction, reference))
    if not p or not r:
        return 0.0
    return f1_from_lcs(LCSseq.similarity(p, r), len(p), len(r))


def rouge_l_f1_batch(pairs: Sequence[tuple[str, str]], *, device: str = "cpu", impl: str = "auto") -> list[float]:
    """`rouge_l_f1` over (prediction, reference) pairs.

    On CUDA (or with impl="triton", e.g. under TRITON_INTERPRET=1) all LCS lengths come from one launch of
    the bit-parallel Triton kernel over padded token-id batches; otherwise rapidfuzz runs pair by pair.
    """
    if not str(device).startswith("cuda") and impl != "triton":
        return [rouge_l_f1(p, r) for p, r in pairs]
    if not pairs:
        return []
    flat = encode_many([s for pair in pairs for s in pair])
    predictions, references = flat[0::2], flat[1::2]
    lcs = _batched_lcs(predictions, references, device, impl)
    return [f1_from_lcs(k, len(p), len(r)) for k, p, r in zip(lcs, predictions, references)]


def _padded_ids(strings: Sequence[str], device: str):
    import torch

    lens = torch.tensor([len(s) for s in strings], dtype=torch.int32)
    ids = torch.zeros((len(strings), max(1, int(lens.max()))), dtype=torch.int32)
    for i, s in enumerate(strings):
        if s:
            ids[i, : len(s)] = torch.tensor([ord(c) for c in s], dtype=torch.int32)
    return ids.to(device), lens.to(device)


def _batched_lcs(predictions: Sequence[str], references: Sequence[str], device: str, impl: str) -> list[int]:
    """LCS lengths of encoded strings; the reference side is the bit-encoded one in the kernel."""
    from fctrain.kernels.lcs_triton import lcs_lengths

    a_ids, a_lens = _padded_ids(references, device)
    b_ids, b_lens = _padded_ids(predictions, device)
    return lcs_lengths(a_ids, a_lens, b_ids, b_lens, impl=impl).tolist()


def clear_caches() -> None:
    """Forget every cached tokenisation and the token alphabet (benchmarks use it to start cold)."""
    rouge_tokens.cache_clear()
    encode.cache_clear()
    _WORD_TOKENS.clear()
    _ALPHABET.codes.clear()
    _ALPHABET.word_codes.clear()
    _ALPHABET.generation += 1
