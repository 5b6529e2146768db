"""Tables of the quarantine app."""
