"""Maintenance's console pages: one line per part."""

from gwanje.maintenance.equipment import views as equipment_views

routers = [
    *equipment_views.routers,
]
