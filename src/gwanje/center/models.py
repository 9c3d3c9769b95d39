"""The center's tables live in its parts (``center/<part>/models.py``)."""
