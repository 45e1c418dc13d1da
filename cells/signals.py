"""Dashboard sections and search providers of this app (registered at start-up)."""
