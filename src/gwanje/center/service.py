"""Use cases live in the center's parts (center/<part>/service.py)."""
