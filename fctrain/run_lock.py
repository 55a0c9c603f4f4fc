"""One writer per run directory: RUN_DIR/fctrain.lock.

The lock is an exclusive `flock` on that file, held for the whole run by the process that writes the run
directory (rank 0 of a torchrun job; the other ranks write nothing shared, so the job is one writer). The
kernel releases it when the process dies, however it dies, so a lock left by a killed process is free again;
the file's content (pid, host, torchrun job, start time) names the holder in the error a second process gets,
and says whose stale lock was taken over. The file is emptied on release, never deleted: deleting it would
let a process that opened the old file and one that creates a new one both "hold" the lock.

On a filesystem shared by several hosts, flock may not reach across them. So a lock file that still names a
process on another host (it was not released: that run is alive there, or died without cleaning up) is
refused unless it belongs to the same torchrun job (an elastic restart may move rank 0 to another node).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from fctrain.errors import FctrainError

LOCK_NAME = "fctrain.lock"


class RunLocked(FctrainError):
    """Another process writes this run directory."""


def job_identity() -> str | None:
    """The torchrun job this process belongs to (None outside torchrun): its rendezvous id and master address,
    which every rank of a job, and every restart of it, shares."""
    if "MASTER_ADDR" not in os.environ or "TORCHELASTIC_RUN_ID" not in os.environ:
        return None
    return f"{os.environ['TORCHELASTIC_RUN_ID']}@{os.environ['MASTER_ADDR']}:{os.environ.get('MASTER_PORT', '')}"


def _describe(holder: dict) -> str:
    job = f", torchrun job {holder['job']}" if holder.get("job") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')}{job}, since {holder.get('started')}"


def _read(fd: int) -> dict | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 1 << 16).decode(errors="replace").strip()
    if not text:
        return None
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {"pid": "?", "host": "?", "started": "?"}  # torn by a crash mid-write: nobody we can name
    return holder if isinstance(holder, dict) else None


@dataclass
class RunLock:
    path: Path
    fd: int
    took_over: dict | None = None  # the stale holder this lock replaced, if any

    def stale_note(self) -> str | None:
        """A line for the log when this lock replaced one whose process is gone (killed, crashed)."""
        if self.took_over is None:
            return None
        return f"took over the lock left in {self.path} by {_describe(self.took_over)}; that process is gone"

    def release(self) -> None:
        if self.fd < 0:
            return
        os.ftruncate(self.fd, 0)  # "free", and the next holder finds no stale entry to report
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1


def acquire(run_dir: Path) -> RunLock:
    """Lock `run_dir` (created if needed) for this process, or raise RunLocked naming the holder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd) or {}
            raise RunLocked(f"{run_dir} is in use by another fctrain run ({_describe(holder)}); wait for it to "
                            "finish, or choose another output_dir (resume=never picks a free -2, -3 ... suffix)") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "job": job_identity(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        stale = _read(fd)
        if stale and stale.get("host") not in (me["host"], "?") and (me["job"] is None or stale.get("job") != me["job"]):
            raise RunLocked(f"{path} names a run on another host ({_describe(stale)}) that did not release it; "
                            f"this host cannot tell whether it still runs. If it does not, delete {path}")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(me) + "\n").encode())
        os.fsync(fd)
        return RunLock(path, fd, took_over=stale)
    except BaseException:
        os.close(fd)  # also drops the flock, if this process got it
        raise
