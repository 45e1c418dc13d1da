"""The baseline of bench_http.py: a tiny WSGI app that answers each benchmarked URL with the same rows fetched by
hand-written SQL through psycopg and serialised with json.dumps. Served by gunicorn with the same settings as
the LIMS, so that the ratio LIMS / baseline measures what Django, DRF and the templates add.

Configuration: BASELINE_QUERIES names a JSON file {"/path": {"queries": [{"key", "sql", "params", "one"}]}};
BASELINE_DATABASE_URL is a libpq URL. One connection per worker process, opened on first use and kept.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

_ROUTES: dict[str, Any] = {}
_CONN: psycopg.Connection[Any] | None = None


def _routes() -> dict[str, Any]:
    if not _ROUTES:
        with open(os.environ["BASELINE_QUERIES"]) as fh:
            _ROUTES.update(json.load(fh))
    return _ROUTES


def _conn() -> psycopg.Connection[Any]:
    global _CONN
    if _CONN is None or _CONN.closed:
        _CONN = psycopg.connect(os.environ["BASELINE_DATABASE_URL"], autocommit=True, row_factory=dict_row)
    return _CONN


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    route = _routes().get(environ.get("PATH_INFO", ""))
    if route is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such baseline"]
    body: dict[str, Any] = {}
    with _conn().cursor() as cur:
        for q in route["queries"]:
            cur.execute(q["sql"], q.get("params") or {})
            rows = cur.fetchall()
            body[q["key"]] = rows[0] if q.get("one") else rows
    data = json.dumps(body, default=_default).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
