"""The center's operations (issue 10): each part keeps its own rules in its sub-package,
e.g. ``center/handover/rules.py``."""
