"""Digest of how the xLAM sample renders in qwen3 format: the fixture that pins today's single-turn output.

`python -m tests.render.xlam_digest PATH` prints the digests; tests/render/fixtures/xlam_qwen3_digest.json
holds the ones printed by the renderer before multi-turn and per-family rendering were added.
"""

from __future__ import annotations

import hashlib
import json
import sys

SETTINGS = ({"think": False}, {"think": True})


def digest(tokenizer, samples: list[dict]) -> dict[str, str]:
    """sha256 of every sample's training text, ids, mask and generation prompt, per think setting."""
    from fctrain.render import render_chat, render_prompt

    out = {}
    for s in SETTINGS:
        h = hashlib.sha256()
        for sample in samples:
            r = render_chat(tokenizer, sample, template="qwen3", **s)
            prompt = render_prompt(tokenizer, sample, template="qwen3", **s)
            h.update(json.dumps([r.text, r.input_ids, r.assistant_mask, prompt]).encode())
        out[f"think={s['think']}"] = h.hexdigest()
    return out


def main(path: str) -> None:
    from fctrain.data import load_source
    from fctrain.models.tiny import tiny_tokenizer

    samples = load_source(path, "messages").samples
    print(json.dumps({"samples": len(samples), **digest(tiny_tokenizer(), samples)}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
