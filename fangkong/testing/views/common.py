"""Helpers the testing pages share."""

from __future__ import annotations


def int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
