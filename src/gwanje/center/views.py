"""The center's pages live in its parts (presence, roster, ...); web/app.py registers each."""

routers: list = []
