#!/usr/bin/env python
"""Django's manage.py; the `fangkong` console script is the same thing."""

from fangkong.cli import main

if __name__ == "__main__":
    main()
