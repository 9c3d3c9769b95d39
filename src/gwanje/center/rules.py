"""The center's rules and state machines live in its parts (``center/<part>/rules.py``)."""
