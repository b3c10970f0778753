"""`python -m bench.statements` reads PostgreSQL's statement log: each backend's transactions and
autocommit statements become one group, named by the phase of a run they belong to."""

from __future__ import annotations

import os
import time

from bench.statements import cpu_seconds, groups

LOG = """\
2026-12-07 00:10:00.001 UTC [11] LOG:  statement: BEGIN
2026-12-07 00:10:00.002 UTC [12] LOG:  execute <unnamed>: INSERT INTO threads (thread_id, tenant_id, owner, metadata) VALUES ($1, $2, $3, $4)
2026-12-07 00:10:00.003 UTC [11] LOG:  execute <unnamed>: SELECT thread_id FROM threads
\tWHERE thread_id = $1 FOR NO KEY UPDATE
2026-12-07 00:10:00.003 UTC [11] DETAIL:  parameters: $1 = 'abc'
2026-12-07 00:10:00.004 UTC [11] LOG:  execute <unnamed>: WITH params AS (SELECT 1) INSERT INTO runs (run_id) SELECT 1
2026-12-07 00:10:00.005 UTC [11] LOG:  execute <unnamed>: INSERT INTO audit_heads AS h (tenant_id) VALUES ($1)
2026-12-07 00:10:00.006 UTC [11] LOG:  statement: COMMIT
2026-12-07 00:10:00.007 UTC [13] LOG:  execute <unnamed>: SELECT pg_notify($1, note) FROM unnest($2::text[]) AS note
"""


def test_statements_are_grouped_by_transaction_and_named_by_phase() -> None:
    found = groups(LOG)
    assert [(g.phase, len(g.statements), g.audit) for g in found] == [
        ("thread create", 1, 0),
        ("run create", 5, 1),
        ("wake-up alone (NOTIFY)", 1, 0),
    ]
    assert "FOR NO KEY UPDATE" in found[1].statements[1]  # a continuation line joins its statement


def test_cpu_seconds_counts_the_work_a_process_does() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # busy, so the kernel charges this process
        pass
    spent = cpu_seconds(os.getpid()) - before
    assert 0.2 <= spent < 5.0
