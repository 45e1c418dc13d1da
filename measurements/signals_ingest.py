"""Dashboard sections and search providers of the ingest part of measurements."""
