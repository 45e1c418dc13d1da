"""Fast inserts of many rows of one model: COPY on PostgreSQL, one prepared executemany elsewhere.

``bulk_create`` spends most of its time building SQL and adapting each value through the ORM (measured: 2.7 s of
3.9 s for 15,000 cycle-summary rows on SQLite); append-only tables written by services in one go (cycle
summaries) skip that. Nothing is saved through ``Model.save()``: no signals, no per-row history, no defaults
computed by Python; the caller passes every column it wants set, and the database constraints still apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in the order of ``fields``, model field names or attnames) into ``model``'s
    table on its write database, inside the caller's transaction. Returns the number of rows written."""
    opts = model._meta
    columns = [str(getattr(opts.get_field(f), "column", f)) for f in fields]
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    table = qn(str(opts.db_table))
    column_list = ", ".join(qn(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            batch = [tuple(r) for r in rows]
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", batch)
            count = len(batch)
    return count
