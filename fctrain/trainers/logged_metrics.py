"""Metrics fctrain's loss paths add to a TRL trainer's logs, kept in fctrain's own store.

TRL's trainers average `self._metrics` into each log row; that dict is TRL's private state, so fctrain
keeps its own (per mode: "train" / "eval") and merges it into the row the same way before TRL's `log` runs.
"""

from __future__ import annotations

import math
from collections import defaultdict


class LoggedMetricsMixin:
    def add_metric(self, training: bool, name: str, value: float) -> None:
        """One value of `name` for the next log row (the row shows the mean of the values since the last)."""
        self._fctrain_metrics()["train" if training else "eval"][name].append(float(value))

    def set_metric(self, training: bool, name: str, value: float) -> None:
        """The value of `name` in the next log row (a running total, say)."""
        self._fctrain_metrics()["train" if training else "eval"][name] = [float(value)]

    def _fctrain_metrics(self) -> dict[str, defaultdict[str, list[float]]]:
        if "_logged_metrics" not in self.__dict__:
            self._logged_metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
        return self._logged_metrics

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "train" if self.model.training else "eval"
        store = self._fctrain_metrics()[mode]
        prefix = "eval_" if mode == "eval" else ""  # as TRL names evaluation metrics
        for name, values in store.items():
            finite = [v for v in values if not math.isnan(v)]  # as TRL: one NaN batch does not hide the rest
            if finite:
                logs[f"{prefix}{name}"] = sum(finite) / len(finite)
        store.clear()
        super().log(logs, start_time)
