"""The center's console pages (issue 10): each part's routers, registered together."""

from gwanje.center.handover import views as handover_views

routers = [*handover_views.routers]
