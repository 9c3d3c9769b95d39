"""Maintenance of the center's equipment (issue 11): the equipment register, health checks of the cameras, tickets."""
