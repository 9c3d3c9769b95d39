"""Maintenance's request and response models live in its parts (``maintenance/<part>/schemas.py``)."""
