from formulations import admin_inventory, admin_synthesis  # noqa: F401  (registrations)
