"""Roster console pages (placeholder until the calendar lands)."""

routers: list = []
