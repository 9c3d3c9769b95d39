"""Audit: read the tamper-evident chain and verify it (Art. 14; PIPA safety measures)."""
