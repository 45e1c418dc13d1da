"""Admin registrations of the synthesis part of formulations."""
