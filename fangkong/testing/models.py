"""Tables of the testing app."""
