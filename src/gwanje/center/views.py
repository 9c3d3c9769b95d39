"""The center's console pages: one line per part."""

from gwanje.center.agents import views as agents_views
from gwanje.center.handover import views as handover_views
from gwanje.center.presence import views as presence_views
from gwanje.center.rooms import views as rooms_views
from gwanje.center.roster import views as roster_views

routers = [
    *agents_views.routers,
    *handover_views.routers,
    *presence_views.routers,
    *rooms_views.routers,
    *roster_views.routers,
]
