"""Audit has no rules of its own: how an entry is hashed and chained, and how the chain is verified,
is :mod:`gwanje.core.audit` (every capability writes to it, so it sits below them all)."""
