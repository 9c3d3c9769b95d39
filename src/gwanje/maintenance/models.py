"""Maintenance's tables live in its parts (``maintenance/<part>/models.py``)."""
