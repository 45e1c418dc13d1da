"""Every write of the formulations app. Inventory (lots and their ledger) in ``inventory``; synthesis in
``synthesis``. Services take keyword-only arguments, run in one transaction, and raise DomainError/ConflictError
with messages a researcher understands."""
