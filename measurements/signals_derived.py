"""Dashboard sections and search providers of the derived part of measurements."""
