"""The center's operations (issue 10): each part keeps its own service in its sub-package,
e.g. ``center/handover/service.py``."""
