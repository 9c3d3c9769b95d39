"""Duty logs (근무일지) and shift handovers (인수인계), issue 10 §2."""
