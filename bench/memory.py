"""The memory benchmark: a server's RSS before and after it has left 10,000 threads interrupted.

An interrupted thread's state lives in the store, so the server should use no more memory with
10,000 of them than with a few hundred. The server is warmed up first (so one-off caches and
pools are already counted in the baseline), then each new thread gets one `approve` run that ends
at its `interrupt()`; the API must report every one of them interrupted, and a sample is resumed
at the end to show the state is still there. RSS is read from /proc for the server's whole
process group.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import psycopg
from langgraph_sdk.client import LangGraphClient

from bench.workload import APPROVE_INPUT, WrongAnswer, client

MB = 1024 * 1024


@dataclass(frozen=True)
class MemoryPlan:
    """How many threads to leave interrupted, and how long to let the server settle."""

    warmup: int
    threads: int
    concurrency: int
    settle_seconds: float
    idle_seconds: float
    resume: int


def group_members(leader: int) -> list[Path]:
    """Return the /proc entries of the processes in `leader`'s process group."""
    if not Path("/proc/self/status").is_file():
        raise RuntimeError("the memory benchmark reads RSS from /proc, which this system lacks")
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended between the listing and the read
        # The command name in field 2 may hold spaces and parentheses; the group is after it.
        if int(stat.rpartition(")")[2].split()[2]) == leader:
            members.append(entry)
    if not members:
        raise RuntimeError(f"no running process in process group {leader}")
    return members


def group_rss(leader: int) -> int:
    """Return the resident set size in bytes of `leader`'s process group (VmRSS summed)."""
    total = 0
    for entry in group_members(leader):
        try:
            status = (entry / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):  # kernel threads and zombies have none
                total += int(line.split()[1]) * 1024
    return total


def store_bytes(database_url: str) -> int:
    """Return the size of the server's database (SQLite file with its WAL, or PostgreSQL)."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        # Checkpoint first, so the size does not depend on when SQLite last folded its WAL.
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        wal = path.with_name(path.name + "-wal")
        return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


async def _interrupt_one(sdk: LangGraphClient) -> str:
    thread_id: str = (await sdk.threads.create())["thread_id"]
    paused = await sdk.runs.wait(thread_id, "approve", input=APPROVE_INPUT)
    if not isinstance(paused, dict) or not paused.get("__interrupt__"):
        raise WrongAnswer(f"approve on thread {thread_id} did not interrupt: {str(paused)[:200]}")
    return thread_id


async def interrupt_threads(url: str, count: int, concurrency: int) -> list[str]:
    """Create `count` threads, each left interrupted by one run, `concurrency` at a time."""
    made: list[str] = []
    remaining = iter(range(count))

    async def worker() -> None:
        async with client(url) as sdk:
            for _ in remaining:  # the workers share one iterator, so each index is taken once
                made.append(await _interrupt_one(sdk))
                if len(made) % 1000 == 0:
                    print(f"  {len(made)}/{count} threads interrupted", file=sys.stderr, flush=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return made


async def _expect_count(sdk: LangGraphClient, status: Any, expected: int) -> int:
    found = await sdk.threads.count(status=status)
    if found != expected:
        raise WrongAnswer(f"the server counts {found} {status} threads, expected {expected}")
    return found


async def _resume(url: str, thread_ids: list[str]) -> float:
    """Resume each thread with `yes` and check the graph finished with that decision."""
    start = perf_counter()
    async with client(url) as sdk:
        for thread_id in thread_ids:
            thread = await sdk.threads.get(thread_id)
            if thread["status"] != "interrupted" or not thread["interrupts"]:
                raise WrongAnswer(f"thread {thread_id} is {thread['status']}, not interrupted")
            done = await sdk.runs.wait(thread_id, "approve", command={"resume": "yes"})
            if not isinstance(done, dict) or done.get("decision") != "yes":
                raise WrongAnswer(f"resume of thread {thread_id} returned {str(done)[:200]}")
    return perf_counter() - start


async def measure(url: str, pid: int, database_url: str | None, plan: MemoryPlan) -> dict[str, Any]:
    """Warm up, read RSS, leave `plan.threads` threads interrupted, read RSS again, resume some."""
    await interrupt_threads(url, plan.warmup, plan.concurrency)
    await asyncio.sleep(plan.settle_seconds)
    before = group_rss(pid)
    store_before = store_bytes(database_url) if database_url else None

    start = perf_counter()
    thread_ids = await interrupt_threads(url, plan.threads, plan.concurrency)
    seconds = perf_counter() - start
    total = plan.warmup + plan.threads
    async with client(url) as sdk:
        interrupted = await _expect_count(sdk, "interrupted", total)
        await _expect_count(sdk, None, total)

    await asyncio.sleep(plan.settle_seconds)
    after = group_rss(pid)
    await asyncio.sleep(plan.idle_seconds)
    idle = group_rss(pid)
    store_after = store_bytes(database_url) if database_url else None

    sample = random.Random(0).sample(thread_ids, min(plan.resume, len(thread_ids)))
    resume_seconds = await _resume(url, sample)
    async with client(url) as sdk:
        await _expect_count(sdk, "interrupted", total - len(sample))
        await _expect_count(sdk, "idle", len(sample))

    result: dict[str, Any] = {
        "warmup_threads": plan.warmup,
        "threads": plan.threads,
        "interrupted_threads": interrupted,
        "concurrency": plan.concurrency,
        "create_seconds": seconds,
        "threads_per_s": plan.threads / seconds,
        "rss_before_mb": before / MB,
        "rss_after_mb": after / MB,
        "rss_idle_mb": idle / MB,
        "idle_seconds": plan.idle_seconds,
        "rss_delta_mb": (idle - before) / MB,
        "bytes_per_thread": (idle - before) / plan.threads,
        "resumed": len(sample),
        "resume_ms_per_thread": 1000 * resume_seconds / len(sample) if sample else None,
        "server_pid": pid,
        "rss_processes": len(group_members(pid)),
    }
    if store_before is not None and store_after is not None:
        result["store_delta_mb"] = (store_after - store_before) / MB
    return result
