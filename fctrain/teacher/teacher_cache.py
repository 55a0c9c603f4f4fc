"""Teacher top-k cache: one teacher forward pass over the training targets, stored for CKD.

Per target token (see fctrain/teacher/targets.py) we keep the teacher's top-k token ids and log-probs
of log_softmax(logits) over the full vocabulary. On-disk format (docs/teacher_cache.md):

    build.json               the build's parameters, written first (lets an interrupted build resume)
    shard-00000.ids.npy      uint8 [tokens, k, id_bytes]: ids as little-endian unsigned ints of the
                             smallest width holding vocab_size-1 (2 B up to 65,536, 3 B for Qwen's 151,936)
    shard-00000.lp.npy       float16 [tokens, k]: log-probs, sorted descending per row
    shard-00000.json         [{id, offset, n_tokens, token_hash}] for the shard's samples, written last
    index.jsonl              all samples: {id, shard, offset, n_tokens, token_hash}
    manifest.json            format, k, tokenizer/teacher fingerprints, render settings, stats; written
                             last, so its presence means the cache is complete

Bytes per token = k * (id_bytes + 2): 500 B at k=100 for Qwen3 (the 6k budget would be 600 B).
Every shard file is written to a temp name and os.replace()d into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from fctrain.errors import CacheMismatchError, ConfigError, DataError
from fctrain.models.selected_logits import selected_logits
from fctrain.run_dir import atomic_write_json, read_json
from fctrain.teacher.targets import encode_sample, predict_mask, token_hash, vocab_fingerprint

FORMAT, VERSION = "fctrain-teacher-topk", 1
LOGPROB_DTYPE = "float16"


# ---- id packing: the smallest little-endian width that holds every id ----

def id_bytes_for(vocab_size: int) -> int:
    for nbytes in (1, 2, 3, 4):
        if vocab_size <= 256**nbytes:
            return nbytes
    raise ValueError(f"vocab_size {vocab_size} does not fit in 32 bits")


def pack_ids(ids: np.ndarray, nbytes: int) -> np.ndarray:
    """int ids [..., k] -> uint8 [..., k, nbytes] (the low `nbytes` bytes of each little-endian uint32)."""
    le = np.ascontiguousarray(ids, dtype="<u4")
    return np.ascontiguousarray(le.view(np.uint8).reshape(*le.shape, 4)[..., :nbytes])


def unpack_ids(packed: np.ndarray) -> np.ndarray:
    full = np.zeros((*packed.shape[:-1], 4), dtype=np.uint8)
    full[..., : packed.shape[-1]] = packed
    return full.view("<u4")[..., 0].astype(np.int64)


# ---- the teacher forward pass ----

def output_vocab_size(model) -> int:
    """Rows of the output projection = the logits' last dimension (may exceed len(tokenizer): padding)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(model.config.vocab_size)


@torch.no_grad()
def teacher_topk(model, input_ids: Sequence[Sequence[int]], masks: Sequence[Sequence[int]], k: int,
                 *, chunk_rows: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of log_softmax(teacher logits) at every target-predicting position of a batch.

    Rows come out in (sample, position) order. Only those positions are projected onto the vocabulary
    (`selected_logits`), and log_softmax runs in float32 chunks of `chunk_rows`.
    """
    device = next(model.parameters()).device
    length = max(len(x) for x in input_ids)
    ids = torch.zeros(len(input_ids), length, dtype=torch.long)
    attn = torch.zeros_like(ids)
    keep = torch.zeros(ids.shape, dtype=torch.bool)
    for b, (x, m) in enumerate(zip(input_ids, masks)):  # right padding keeps positions 0..n-1
        ids[b, : len(x)] = torch.tensor(x)
        attn[b, : len(x)] = 1
        keep[b, : len(x)] = torch.from_numpy(predict_mask(m))
    ids, attn, keep = ids.to(device), attn.to(device), keep.to(device)
    logits = selected_logits(model, keep, input_ids=ids, attention_mask=attn)
    if k > logits.shape[-1]:
        raise ConfigError(f"teacher cache: k={k} exceeds the teacher's vocabulary ({logits.shape[-1]})")
    top_ids, top_lp = [], []
    for chunk in logits.split(chunk_rows):
        lp, idx = torch.log_softmax(chunk.float(), dim=-1).topk(k, dim=-1)
        top_ids.append(idx)
        top_lp.append(lp)
    if not top_ids:
        return torch.zeros(0, k, dtype=torch.long), torch.zeros(0, k)
    return torch.cat(top_ids).cpu(), torch.cat(top_lp).cpu()


def _split_rows(ids: torch.Tensor, lp: torch.Tensor, masks) -> list[tuple[torch.Tensor, torch.Tensor]]:
    counts = [int(predict_mask(m).sum()) for m in masks]
    return list(zip(ids.split(counts), lp.split(counts)))


# ---- vocabulary compatibility ----

def check_vocab(teacher_tok: dict, teacher_vocab: int, *, student_tokenizer=None,
                student_vocab_size: int | None = None, where: str = "teacher cache") -> None:
    """Refuse a student whose tokenizer or logits dimension differs from the teacher's."""
    if student_tokenizer is not None:
        fp = vocab_fingerprint(student_tokenizer)
        if (fp["vocab_size"], fp["vocab_hash"]) != (teacher_tok["vocab_size"], teacher_tok["vocab_hash"]):
            raise CacheMismatchError(
                f"{where}: teacher tokenizer {teacher_tok['name']!r} (size {teacher_tok['vocab_size']}, "
                f"hash {teacher_tok['vocab_hash']}) differs from the student's {fp['name']!r} (size "
                f"{fp['vocab_size']}, hash {fp['vocab_hash']}); use a student with the teacher's vocabulary "
                "or pass an explicit token_map (teacher id -> student id)"
            )
    if student_vocab_size is not None and student_vocab_size != teacher_vocab:
        raise CacheMismatchError(
            f"{where}: teacher logits have {teacher_vocab} entries but the student's have "
            f"{student_vocab_size}; pass an explicit token_map (teacher id -> student id) to distill across them"
        )


def _apply_token_map(ids: np.ndarray, lp: np.ndarray, token_map: np.ndarray | None):
    if token_map is None:
        return ids, lp
    mapped = token_map[ids]
    lp = np.where(mapped < 0, -np.inf, lp).astype(np.float32)  # no student counterpart: zero teacher mass
    return np.where(mapped < 0, 0, mapped), lp


# ---- the reader ----

class TeacherCache:
    """Memory-mapped reader. `get(sample_id, input_ids, assistant_mask) -> (ids [T,k] long, logprobs [T,k])`.

    The sample's tokens are hashed and compared with the hash stored at build time: a different
    tokenizer, template or truncation raises CacheMismatchError instead of misaligning rows.
    """

    def __init__(self, path: str | os.PathLike, *, student_tokenizer=None, student_vocab_size: int | None = None,
                 token_map: Sequence[int] | np.ndarray | None = None):
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            raise ConfigError(f"teacher cache {self.path}: no manifest.json (not built, or the build was interrupted; "
                              "rerun cache_teacher to resume it)")
        self.manifest = read_json(manifest_path, _REBUILD)
        if (self.manifest.get("format"), self.manifest.get("version")) != (FORMAT, VERSION):
            raise CacheMismatchError(f"{manifest_path}: format {self.manifest.get('format')!r} "
                                     f"v{self.manifest.get('version')}, expected {FORMAT!r} v{VERSION}")
        self.k = int(self.manifest["k"])
        self.token_map = None if token_map is None else np.asarray(token_map, dtype=np.int64)
        if self.token_map is None:
            check_vocab(self.manifest["tokenizer"], self.manifest["teacher"]["vocab_size"],
                        student_tokenizer=student_tokenizer, student_vocab_size=student_vocab_size,
                        where=f"teacher cache {self.path}")
        elif len(self.token_map) < self.manifest["teacher"]["vocab_size"]:
            raise ConfigError(f"token_map has {len(self.token_map)} entries; the teacher vocabulary has "
                              f"{self.manifest['teacher']['vocab_size']}")
        self.index = {e["id"]: e for e in _read_index(self.path / "index.jsonl")}
        self._shards: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self.index

    @property
    def bytes_per_token(self) -> float:
        return float(self.manifest["bytes_per_token"])

    def check_render(self, **render) -> None:
        """Refuse early when the trainer renders with other settings than the cache was built with."""
        built = self.manifest["render"]
        diff = {key: (built.get(key), value) for key, value in render.items() if built.get(key) != value}
        if diff:
            shown = ", ".join(f"{key}: cache {a!r} vs now {b!r}" for key, (a, b) in diff.items())
            raise CacheMismatchError(f"teacher cache {self.path} was built with other render settings ({shown}); "
                                     "rebuild the cache or use the same settings")

    def verify(self, sample_id: str, input_ids: Sequence[int], assistant_mask: Sequence[int]) -> dict:
        entry = self.index.get(sample_id)
        if entry is None:
            raise CacheMismatchError(f"teacher cache {self.path}: no entry for sample {sample_id!r} "
                                     "(built from other data? rebuild the cache)")
        if token_hash(input_ids, assistant_mask) != entry["token_hash"]:
            r = self.manifest["render"]
            raise CacheMismatchError(
                f"teacher cache {self.path}: sample {sample_id!r} renders to other tokens than at build time "
                f"(cache: tokenizer {self.manifest['tokenizer']['name']!r}, template {r['template']!r}, "
                f"think {r['think']}, max_length {r['max_length']}, max_target_tokens {r['max_target_tokens']}); "
                "another tokenizer, template or truncation? Rebuild the cache for these settings"
            )
        return entry

    def _shard(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in self._shards:
            stem = self.path / f"shard-{i:05d}"
            arrays, problem = _open_shard(stem)
            if problem is not None:
                raise DataError(f"teacher cache shard {problem}; {_REBUILD}")
            self._shards[i] = arrays
        return self._shards[i]

    def get(self, sample_id: str, input_ids: Sequence[int], assistant_mask: Sequence[int]):
        entry = self.verify(sample_id, input_ids, assistant_mask)
        ids_mm, lp_mm = self._shard(entry["shard"])
        rows = slice(entry["offset"], entry["offset"] + entry["n_tokens"])
        ids, lp = _apply_token_map(unpack_ids(ids_mm[rows]), lp_mm[rows].astype(np.float32), self.token_map)
        return torch.from_numpy(ids), torch.from_numpy(np.ascontiguousarray(lp, dtype=np.float32))

    def get_batch(self, items: Iterable[tuple[str, Sequence[int], Sequence[int]]]):
        return [self.get(*item) for item in items]


class OnlineTeacher:
    """The teacher in memory, top-k computed on the fly; the same `get`/`get_batch` as TeacherCache."""

    def __init__(self, model, k: int = 100, *, teacher_tokenizer=None, student_tokenizer=None,
                 student_vocab_size: int | None = None, token_map=None):
        self.model, self.k = model.eval(), k
        self.token_map = None if token_map is None else np.asarray(token_map, dtype=np.int64)
        if self.token_map is None and teacher_tokenizer is not None:
            check_vocab(vocab_fingerprint(teacher_tokenizer), output_vocab_size(model),
                        student_tokenizer=student_tokenizer, student_vocab_size=student_vocab_size,
                        where="online teacher")
        elif self.token_map is None and student_vocab_size is not None:
            check_vocab({}, output_vocab_size(model), student_vocab_size=student_vocab_size, where="online teacher")

    def get_batch(self, items):
        items = list(items)
        if not items:
            return []
        masks = [m for _, _, m in items]
        ids, lp = teacher_topk(self.model, [x for _, x, _ in items], masks, self.k)
        out = []
        for i, p in _split_rows(ids, lp, masks):
            i, p = _apply_token_map(i.numpy(), p.numpy(), self.token_map)
            out.append((torch.as_tensor(i), torch.as_tensor(p, dtype=torch.float32)))
        return out

    def get(self, sample_id: str, input_ids: Sequence[int], assistant_mask: Sequence[int]):
        return self.get_batch([(sample_id, input_ids, assistant_mask)])[0]


# ---- the writer ----

_REBUILD = "rebuild the cache: delete it, or rerun cache_teacher with overwrite: true"


def _read_index(path: Path) -> list[dict]:
    rows = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{line_no} is damaged: not valid JSON ({e.msg}); {_REBUILD}") from None
    return rows


def _open_shard(stem: Path, n_tokens: int | None = None) -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    """A shard's (ids, logprobs) memory maps, or what is wrong with them: "<file> is damaged (...)"."""
    arrays = []
    for suffix in (".ids.npy", ".lp.npy"):
        path = Path(f"{stem}{suffix}")
        try:
            arrays.append(np.load(path, mmap_mode="r"))
        except (OSError, ValueError) as e:
            return None, f"{path} is damaged ({e})"
    rows = {len(a) for a in arrays} | ({n_tokens} if n_tokens is not None else set())
    if len(rows) != 1:
        return None, f"{stem}.*.npy are damaged (rows: ids {len(arrays[0])}, logprobs {len(arrays[1])}" + \
            (f", index {n_tokens})" if n_tokens is not None else ")")
    return (arrays[0], arrays[1]), None


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def encode_samples(tokenizer, samples: Iterable[dict], **render) -> list[tuple[str, list, list, str]]:
    """(id, input_ids, mask, token_hash) per sample, in order; ids must be unique."""
    out, seen = [], set()
    for i, sample in enumerate(samples):
        sid = sample.get("id")
        if not isinstance(sid, str) or not sid:
            raise DataError(f"sample #{i}: field 'id' must be a non-empty string, got {sid!r}")
        if sid in seen:
            raise DataError(f"sample #{i}: duplicate id {sid!r}; the teacher cache is keyed by sample id")
        seen.add(sid)
        ids, mask = encode_sample(tokenizer, sample, **render)
        out.append((sid, ids, mask, token_hash(ids, mask)))
    return out


def _build_spec(tokenizer, teacher_model, encoded, *, k, render, shard_size, teacher_name) -> dict:
    vocab = output_vocab_size(teacher_model)
    samples_hash = hashlib.sha256("".join(f"{sid}\t{h}\n" for sid, _, _, h in encoded).encode()).hexdigest()
    return {
        "format": FORMAT, "version": VERSION, "k": k,
        "id_bytes": id_bytes_for(vocab), "id_encoding": "little-endian unsigned", "logprob_dtype": LOGPROB_DTYPE,
        "tokenizer": vocab_fingerprint(tokenizer),
        "teacher": {"name": teacher_name or getattr(teacher_model, "name_or_path", "") or "teacher",
                    "vocab_size": vocab},
        "render": render, "shard_size": shard_size, "n_samples": len(encoded), "samples_hash": samples_hash,
    }


def _same_build(a: dict, b: dict) -> bool:
    keys = ("format", "version", "k", "id_bytes", "tokenizer", "teacher", "render", "shard_size", "samples_hash")
    return all(a.get(key) == b.get(key) for key in keys)


def _refuse_or_wipe(out: Path, found: dict, spec: dict, overwrite: bool, what: str) -> None:
    if not overwrite:
        diff = [key for key in ("k", "tokenizer", "teacher", "render", "shard_size", "samples_hash")
                if found.get(key) != spec.get(key)]
        raise CacheMismatchError(f"{out}: holds a {what} for other settings (differs in: {', '.join(diff)}); "
                                 "choose another cache_dir or pass overwrite=True")
    shutil.rmtree(out)


def _finished_shard(out: Path, index: int) -> bool:
    """A shard an interrupted build completed, and whose files are whole; a damaged one is said and redone."""
    stem = out / f"shard-{index:05d}"
    if not Path(f"{stem}.json").is_file():
        return False
    entries = read_json(Path(f"{stem}.json"), _REBUILD)
    _, problem = _open_shard(stem, sum(e["n_tokens"] for e in entries))
    if problem is not None:
        print(f"teacher cache: {problem}; computing that shard again", file=sys.stderr)
    return problem is None


def _write_shard(out: Path, index: int, rows: list, entries: list, k: int, id_bytes: int) -> None:
    ids = np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, k), np.int64)
    lp = np.concatenate([r[1] for r in rows]) if rows else np.zeros((0, k), np.float32)
    stem = out / f"shard-{index:05d}"
    _atomic_save_npy(Path(f"{stem}.ids.npy"), pack_ids(ids, id_bytes))
    _atomic_save_npy(Path(f"{stem}.lp.npy"), lp.astype(LOGPROB_DTYPE))
    atomic_write_json(Path(f"{stem}.json"), entries)  # last: marks the shard complete


def cache_teacher(teacher_model, tokenizer, samples: Iterable[dict], out_dir: str | os.PathLike, *, k: int = 100,
                  template: str = "qwen3", think: bool = False, max_length: int | None = None,
                  max_target_tokens: int | None = None, batch_size: int = 4, shard_size: int = 1024,
                  teacher_name: str | None = None, overwrite: bool = False, progress: bool = True) -> dict:
    """Build (or resume, or reuse) the top-k cache of `teacher_model` over `samples`' targets.

    shard_size counts samples; shard i always holds samples [i*shard_size, (i+1)*shard_size), which is
    what lets an interrupted build keep its finished shards. Returns a summary dict.
    """
    from tqdm import tqdm

    if k < 1 or batch_size < 1 or shard_size < 1:
        raise ConfigError(f"cache_teacher: k, batch_size and shard_size must be >= 1 (got {k}, {batch_size}, "
                          f"{shard_size})")
    out = Path(out_dir)
    render = {"template": template, "think": think, "max_length": max_length, "max_target_tokens": max_target_tokens}
    encoded = encode_samples(tokenizer, samples, **render)
    spec = _build_spec(tokenizer, teacher_model, encoded, k=k, render=render, shard_size=shard_size,
                       teacher_name=teacher_name)
    if spec["teacher"]["vocab_size"] < k:
        raise ConfigError(f"cache_teacher: k={k} exceeds the teacher's vocabulary ({spec['teacher']['vocab_size']})")
    manifest_path, build_path = out / "manifest.json", out / "build.json"
    if manifest_path.is_file():
        found = read_json(manifest_path, _REBUILD)
        if _same_build(found, spec):
            print(f"teacher cache: reusing {out} ({found['n_tokens']} tokens, "
                  f"{found['bytes_per_token']:.0f} B/token)", file=sys.stderr)
            return _summary(out, found, reused=True)
        _refuse_or_wipe(out, found, spec, overwrite, "complete teacher cache")
    elif build_path.is_file() and not _same_build(partial := read_json(build_path, _REBUILD), spec):
        _refuse_or_wipe(out, partial, spec, overwrite, "partial teacher cache")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):  # a temp file left by an interrupted write
        stale.unlink()
    if not build_path.is_file():
        atomic_write_json(build_path, spec)

    t0 = time.time()
    total = sum(int(predict_mask(m).sum()) for _, _, m, _ in encoded)
    bar = tqdm(total=total, unit="tok", desc="teacher top-k", disable=not progress)
    shards = [encoded[i : i + shard_size] for i in range(0, len(encoded), shard_size)]
    n_resumed = 0
    for si, shard in enumerate(shards):
        if _finished_shard(out, si):  # finished before an interruption: keep it
            n_resumed += 1
            bar.update(sum(int(predict_mask(m).sum()) for _, _, m, _ in shard))
            continue
        rows, entries, offset = [], [], 0
        for b in range(0, len(shard), batch_size):
            batch = shard[b : b + batch_size]
            masks = [m for _, _, m, _ in batch]
            ids, lp = teacher_topk(teacher_model, [x for _, x, _, _ in batch], masks, k)
            for (sid, _, _, h), (i, p) in zip(batch, _split_rows(ids, lp, masks)):
                rows.append((i.numpy(), p.numpy()))
                entries.append({"id": sid, "offset": offset, "n_tokens": len(i), "token_hash": h})
                offset += len(i)
            bar.update(len(ids))
        _write_shard(out, si, rows, entries, k, spec["id_bytes"])
    bar.close()

    with open(out / ".index.jsonl.tmp", "w") as f:
        for si in range(len(shards)):
            for e in json.loads((out / f"shard-{si:05d}.json").read_text()):
                f.write(json.dumps({"id": e["id"], "shard": si, **{k_: e[k_] for k_ in
                                                                    ("offset", "n_tokens", "token_hash")}}) + "\n")
    os.replace(out / ".index.jsonl.tmp", out / "index.jsonl")
    shard_bytes = sum(p.stat().st_size for p in out.glob("shard-*.npy"))
    manifest = {**spec, "n_shards": len(shards), "n_tokens": total,
                "bytes_per_token": shard_bytes / max(total, 1),
                "nominal_bytes_per_token": k * (spec["id_bytes"] + np.dtype(LOGPROB_DTYPE).itemsize),
                "build_seconds": round(time.time() - t0, 2)}
    atomic_write_json(manifest_path, manifest)  # last: the cache is complete
    summary = _summary(out, manifest, reused=False, resumed_shards=n_resumed)
    print(f"teacher cache: {len(encoded)} samples, {total} target tokens, {manifest['bytes_per_token']:.1f} B/token "
          f"(nominal {manifest['nominal_bytes_per_token']} = k*({spec['id_bytes']} B id + 2 B fp16)), "
          f"{summary['seconds']:.1f} s, {n_resumed} shard(s) resumed -> {out}", file=sys.stderr)
    return summary


def _summary(out: Path, manifest: dict, *, reused: bool, resumed_shards: int = 0) -> dict:
    return {"cache_dir": str(out), "n_samples": manifest["n_samples"], "n_tokens": manifest["n_tokens"],
            "bytes_per_token": manifest["bytes_per_token"],
            "nominal_bytes_per_token": manifest["nominal_bytes_per_token"], "k": manifest["k"],
            "seconds": manifest["build_seconds"], "reused": reused, "resumed_shards": resumed_shards}
