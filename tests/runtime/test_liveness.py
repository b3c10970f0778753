"""Telling dead lease holders of this machine from live ones and from other machines'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent_ops.runtime.liveness import ProcessIdentity, dead_here, this_process


def test_a_live_process_is_not_dead_and_an_exited_one_is() -> None:
    me = this_process()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = ProcessIdentity(me.host, me.boot, child.pid, _ticks(child.pid)).worker_id()
        assert dead_here([alive], me) == []
    finally:
        child.kill()
        child.wait()
    assert dead_here([alive], me) == [alive]


def test_a_reused_pid_with_another_start_time_is_dead() -> None:
    me = this_process()
    impostor = ProcessIdentity(me.host, me.boot, me.pid, me.started + 1).worker_id()
    assert dead_here([impostor], me) == [impostor]
    assert dead_here([me.worker_id()], me) == []


def test_holders_of_other_machines_other_boots_and_old_ids_are_left_to_their_lease() -> None:
    me = this_process()
    others = [
        ProcessIdentity("elsewhere", me.boot, 999_999, 1).worker_id(),
        ProcessIdentity(me.host, "otherboot", 999_999, 1).worker_id(),
        f"{me.host}:999999:abcd1234",  # the id format before process identities
    ]
    assert dead_here(others, me) == []


def _ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[19])
