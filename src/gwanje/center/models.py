"""The center's operations (issue 10): each part keeps its own models in its sub-package,
e.g. ``center/handover/models.py``."""
