"""Maintenance's JSON routes: one line per part."""

from gwanje.maintenance.equipment import api as equipment_api

routers = [
    *equipment_api.routers,
]
