"""The center's models live in its parts (presence, roster, handover, agents, rooms); see each sub-package."""
