"""The center's operations: people on duty, their rosters and handovers, monitoring agents, and the rooms (issue 10)."""
