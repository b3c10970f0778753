"""The SQL connector's configuration fails closed, and placeholders are found only in code."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tools.sql import SQLConfig, SQLQuery
from tools.sql._text import parse_sql


def _query(**fields: Any) -> dict[str, Any]:
    return {"sql": "SELECT 1", "description": "d", **fields}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (_query(sql="SELECT :a"), "undeclared parameters: a"),
        (_query(params={"a": "int"}), "declared parameters not in the statement: a"),
        (_query(effect="write"), "a write must say how a repeat is made harmless"),
        (_query(effect="write", idempotency="none"), "needs no_key_reason"),
        (_query(effect="write", idempotency="sql"), "does not use :idempotency_key"),
        (_query(idempotency="ledger"), "idempotency applies to writes"),
        (_query(params={"a": {"type": "int", "pattern": "x"}}), "apply to str parameters"),
        (_query(sql="SELECT :a", params={"a": {"pattern": "("}}), "not a valid regex"),
        (_query(params={"a": "money"}), "Input should be 'str', 'int'"),
        (_query(sql="SELECT :Bad", params={"Bad": "int"}), "should match pattern"),
        (_query(max_row=5), "Extra inputs are not permitted"),
        (
            _query(sql="SELECT :idempotency_key", params={"idempotency_key": "str"}),
            "'idempotency_key' is reserved",
        ),
    ],
)
def test_a_query_that_cannot_be_run_as_declared_is_refused(
    query: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SQLQuery.model_validate(query)


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(ValidationError, match="scheme 'mysql' is not supported"):
        SQLConfig.model_validate({"url": "mysql://db/x"})
    with pytest.raises(ValidationError, match="same kind of database"):
        SQLConfig.model_validate(
            {"url": "sqlite:///x.db", "adhoc": {"url": "postgresql://ro@localhost/x"}}
        )


def test_the_url_is_kept_secret_in_reprs() -> None:
    config = SQLConfig.model_validate({"url": "postgresql://app:hunter2@db/x"})
    assert "hunter2" not in repr(config)


def test_placeholders_are_found_outside_literals_comments_and_casts() -> None:
    parsed = parse_sql(
        "SELECT ':no', \"a:b\", x::int, 10 % 3 -- :nope\n"
        "FROM t /* :nor */ WHERE a = :first AND b LIKE '50%' AND c = :second"
    )
    assert parsed.names == {"first", "second"}
    assert parsed.postgres == (
        "SELECT ':no', \"a:b\", x::int, 10 %% 3 -- :nope\n"
        "FROM t /* :nor */ WHERE a = %(first)s AND b LIKE '50%%' AND c = %(second)s"
    )
    assert ":first" in parsed.sqlite
