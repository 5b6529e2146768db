"""Screening list imports: big lists from the police, telecom and transport operators and other cities'
assistance notices (协查函), read from .xlsx/.xls/.csv, mapped onto our fields, checked row by row, and loaded
into the risk pool in one transaction. See docs/screening-imports.md."""
