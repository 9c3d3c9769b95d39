"""The center's maintenance (Art. 2 ④, 5, 6): the register of equipment, facilities and supplies, and
camera health and fault tickets for the maintenance contractor (its parts)."""
