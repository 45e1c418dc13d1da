"""Domain errors raised by services, with messages a researcher understands."""


class DomainError(Exception):
    """A request that the lab's rules refuse (maps to HTTP 400 in the API, a form error on pages)."""


class ConflictError(DomainError):
    """A request that conflicts with the current state (maps to HTTP 409): not enough stock, frozen record..."""
