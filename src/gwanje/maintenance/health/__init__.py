"""Camera health checks (issue 11): is the stream reachable, are frames arriving, is the picture sound
(not black, frozen, covered, defocused or moved away from its reference view)."""
