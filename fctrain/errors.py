"""Errors fctrain raises on bad input. Each message names the file, line or field and what was expected."""


class FctrainError(Exception):
    """Base class: a user-facing error with an actionable message."""


class ConfigError(FctrainError):
    """A recipe or override is invalid (unknown key, wrong type, missing file, impossible combination)."""


class DataError(FctrainError):
    """A data record is malformed; the message names the source file/line (or sample id) and the field."""


class MaskError(FctrainError):
    """Rendering produced a loss mask that covers no assistant token (the silent all-zero mask)."""


class UnrenderableSampleError(MaskError):
    """The chat format cannot express a sample (Llama 3.2: several calls in one turn); other samples may be fine."""


class CacheMismatchError(FctrainError):
    """A teacher cache was built for other tokens (tokenizer, template or truncation) or another vocab."""


class FieldError(ConfigError):
    """A config dataclass refused one of its fields (raised in __post_init__); the loader adds file and key."""

    def __init__(self, field: str, expected: str, value):
        super().__init__(f"'{field}' must be {expected}, got {value!r}")
        self.field, self.expected, self.value = field, expected, value
