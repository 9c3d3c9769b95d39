"""The center's maintenance (Art. 2 ④, 5, 6): the register of equipment, facilities and supplies, the health
checks of the cameras' streams and pictures, and (to come) fault tickets for the maintenance contractor
(its parts)."""
