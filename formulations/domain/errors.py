"""Errors raised by the formulation domain code.

Every message is written for a researcher at the bench: it names the component or the
quantity at fault, the value received and what was expected.
"""

from __future__ import annotations


class CompositionError(ValueError):
    """A composition, amount or geometry that cannot be used as given."""
