"""The center's use cases live in its parts (``center/<part>/service.py``)."""
