"""Audit has no tables of its own: the chain (``audit_log``) is :class:`gwanje.core.audit.AuditEntry`,
which every capability's use cases append to in their own transaction."""
