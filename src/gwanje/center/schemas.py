"""Request and response models live in the center's parts (center/<part>/schemas.py)."""
