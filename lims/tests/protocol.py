"""What a connection sent and received, from libpq's protocol trace, for the round-trip tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def traced(connection: Any, run: Callable[[], T], directory: Path) -> tuple[T, list[str]]:
    """``run()``'s result and the kinds of the protocol messages of the Django ``connection`` meanwhile (``Sync``,
    ``Execute``, ``ReadyForQuery``...), in order."""
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trace = directory / "protocol.txt"
    with trace.open("w") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            result = run()
        finally:
            pgconn.untrace()
    kinds = [line.split("\t")[2] for line in trace.read_text().splitlines() if line.count("\t") >= 2]
    return result, kinds
