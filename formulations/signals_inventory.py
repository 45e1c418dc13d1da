"""Dashboard sections and search providers of the inventory part of formulations."""
