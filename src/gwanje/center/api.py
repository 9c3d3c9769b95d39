"""The center's JSON routes: one line per part."""

from gwanje.center.agents import api as agents_api
from gwanje.center.handover import api as handover_api
from gwanje.center.presence import api as presence_api
from gwanje.center.rooms import api as rooms_api
from gwanje.center.roster import api as roster_api

routers = [
    *agents_api.routers,
    *handover_api.routers,
    *presence_api.routers,
    *rooms_api.routers,
    *roster_api.routers,
]
