"""Admin registrations of the inventory part of formulations."""
