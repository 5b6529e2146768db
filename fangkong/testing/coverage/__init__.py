"""Mass-testing round coverage (全员核酸覆盖): the registry against the round's samples, computed by the analytics
engine (an anti-join, not a Python loop) from a lean extract of the operational database, stored back per
community with the untested and door-to-door lists. docs/testing-coverage.md explains the pieces."""
