"""Maintenance's rules live in its parts (``maintenance/<part>/rules.py``)."""
