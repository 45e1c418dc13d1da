"""Every write of the measurements app: ingest (uploads -> measurements) and derive (derived properties)."""
