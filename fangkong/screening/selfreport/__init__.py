"""Residents' own reports of arriving from a risk area: a public page, the phone verified by a one-time code."""
