"""HTML views of the quarantine app, one module per topic; each view parses input, calls one service or
selector and renders."""
