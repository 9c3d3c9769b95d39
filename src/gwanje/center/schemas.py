"""The center's request and response models live in its parts (``center/<part>/schemas.py``)."""
