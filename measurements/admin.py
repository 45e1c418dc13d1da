from measurements import admin_derived, admin_ingest  # noqa: F401  (registrations)
