"""The center's operations (issue 10): each part keeps its own schemas in its sub-package,
e.g. ``center/handover/schemas.py``."""
