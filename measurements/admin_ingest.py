"""Admin registrations of the ingest part of measurements."""
