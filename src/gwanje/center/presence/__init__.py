"""Presence in the center (Art. 9 ②, ④): check-in and check-out, the training and pledge gate, the staffing rules."""
