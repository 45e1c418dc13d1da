"""Columnar storage of parsed data: one Parquet file (zstd) per measurement, next to its raw file.

Paths go through Django's default storage (filesystem by default, S3-compatible when configured), so the same
code serves both. ``read_frame`` is the one call a notebook needs.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def parquet_path(sha256: str) -> str:
    return f"parsed/{sha256[:2]}/{sha256}.parquet"


def write_columns(
    path: str, columns: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> str:
    """Write arrays as one Parquet table (zstd); replaces an existing file of the same path (idempotent)."""
    table = pa.table({name: pa.array(np.asarray(values)) for name, values in columns.items()})
    if metadata:
        table = table.replace_schema_metadata({k: str(v) for k, v in metadata.items()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(buffer.getvalue()))


def read_table(path: str, columns: Sequence[str] | None = None) -> pa.Table:
    with default_storage.open(path, "rb") as fh:
        return pq.read_table(fh, columns=list(columns) if columns else None)


def read_columns(path: str, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    table = read_table(path, columns)
    return {name: table.column(name).to_numpy() for name in table.column_names}


def read_frame(measurement: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The parsed data of a measurement as a pandas DataFrame (canonical SI column names)."""
    return read_table(measurement.data_file, columns).to_pandas()


def delete(path: str) -> None:
    if path and default_storage.exists(path):
        default_storage.delete(path)
