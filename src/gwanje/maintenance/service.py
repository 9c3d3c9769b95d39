"""Maintenance's use cases live in its parts (``maintenance/<part>/service.py``)."""
