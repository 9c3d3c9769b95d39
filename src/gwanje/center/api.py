"""The center's JSON routes: every part's, in one list for the app."""

from __future__ import annotations

from gwanje.center.roster import api as roster_api

routers = [*roster_api.routers]
