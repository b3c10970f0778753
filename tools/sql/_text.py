"""Named parameters in configured SQL: `:name` in the text, found and rewritten for each driver.

The scan skips string literals, quoted identifiers, comments and PostgreSQL's `::` casts, so
`':x'` or `x::int` are left alone. It only locates placeholders in text the operator wrote; it
never decides whether a statement is safe (the database does that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
      (?P<literal>'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<cast>::)
    | :(?P<param>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<percent>%)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class ParsedSQL:
    """Configured SQL with its parameter names, in the form each driver takes."""

    names: frozenset[str]
    sqlite: str  # sqlite3 takes `:name` as written
    postgres: str  # psycopg takes `%(name)s`, and `%` doubled


def parse_sql(sql: str) -> ParsedSQL:
    """Find the `:name` placeholders of `sql` and spell it for psycopg."""
    names: set[str] = set()
    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(sql):
        out.append(sql[last : match.start()])
        last = match.end()
        if match.group("param"):
            names.add(match.group("param"))
            out.append(f"%({match.group('param')})s")
        elif match.group("percent"):
            out.append("%%")
        else:  # with parameters psycopg reads `%` everywhere, literals and comments included
            out.append(match.group(0).replace("%", "%%"))
    out.append(sql[last:])
    return ParsedSQL(names=frozenset(names), sqlite=sql, postgres="".join(out))
