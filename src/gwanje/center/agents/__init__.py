"""Monitoring agents: police requests for agents (Art. 9 ③, costs Art. 12) and replacement demands (Art. 9 ④)."""
