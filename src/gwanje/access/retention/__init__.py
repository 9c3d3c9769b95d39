"""Retention: holds that keep video past its period, and the record of what was destroyed."""
