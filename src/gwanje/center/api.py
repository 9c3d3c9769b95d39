"""The center's JSON routes (issue 10): each part's routers, registered together."""

from gwanje.center.handover import api as handover_api

routers = [*handover_api.routers]
