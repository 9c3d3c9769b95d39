"""Rules shared by the center's parts; each part keeps its own state machines in center/<part>/rules.py."""
