"""The error an adapter or validator raises for one bad record: a DataError that also says why, briefly.

`reason` is a short stable key (e.g. "bad_json_arguments", "unknown_tool") so that `on_invalid="skip"`
can count skipped records by cause; `field` is the path inside the record ("messages[2].tool_calls[0]").
"""

from __future__ import annotations

from fctrain.errors import DataError


class RecordError(DataError):
    def __init__(self, reason: str, field: str, message: str):
        self.reason, self.field, self.detail = reason, field, message
        super().__init__(f"{field}: {message}" if field else message)
