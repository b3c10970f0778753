"""Which lease holders are known to be dead, so their runs need not wait out the lease.

A worker's id names its process: host, boot id, pid and the process's start time (in clock
ticks since boot, from /proc). A worker starting on a machine reads the ids holding running runs;
one of this host and this boot whose pid no longer runs, or runs a different process (same pid,
other start time), died, and its leases can be expired at once. Holders on other machines, or
from before a reboot we cannot check, keep their lease until it lapses as before.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """What names one process on one machine for one boot."""

    host: str
    boot: str
    pid: int
    started: int

    def worker_id(self) -> str:
        """Return a new worker id naming this process (with a random tail per pool)."""
        return f"{self.host}:{self.boot}:{self.pid}:{self.started}:{uuid.uuid4().hex[:8]}"


def this_process() -> ProcessIdentity:
    """Return the identity of the running process."""
    pid = os.getpid()
    return ProcessIdentity(socket.gethostname(), _boot_id(), pid, _start_ticks(pid) or 0)


def dead_here(worker_ids: list[str], me: ProcessIdentity | None = None) -> list[str]:
    """Return the ids among `worker_ids` whose process ran on this machine in this boot and is
    gone (or whose pid now belongs to a different process)."""
    me = me or this_process()
    if not me.boot:
        return []  # no boot id (not Linux): nothing can be proven dead
    dead = []
    for worker_id in worker_ids:
        parts = worker_id.split(":")
        if len(parts) != 5 or parts[0] != me.host or parts[1] != me.boot:
            continue
        try:
            pid, started = int(parts[2]), int(parts[3])
        except ValueError:
            continue
        if pid == me.pid and started == me.started:
            continue  # that is us
        if _start_ticks(pid) != started:
            dead.append(worker_id)
    return dead


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    except OSError:
        return ""


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None when no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 of stat(5), counted from field 3
