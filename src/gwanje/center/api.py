"""The center's JSON routes: one line per part."""

from gwanje.center.agents import api as agents_api

routers = [
    *agents_api.routers,
]
