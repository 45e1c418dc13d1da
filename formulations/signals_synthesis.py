"""Dashboard sections and search providers of the synthesis part of formulations."""
