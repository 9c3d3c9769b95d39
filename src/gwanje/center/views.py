"""The center's console pages: every part's, in one list for the app."""

from __future__ import annotations

from gwanje.center.roster import views as roster_views

routers = [*roster_views.routers]
