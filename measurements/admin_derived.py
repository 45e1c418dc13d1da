"""Admin registrations of the derived part of measurements."""
