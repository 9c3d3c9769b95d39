"""The center's console pages: one line per part."""

from gwanje.center.agents import views as agents_views

routers = [
    *agents_views.routers,
]
