"""The shift roster: planned shifts, imported from the files a center keeps, and the planned gaps (issue 10 §1)."""
