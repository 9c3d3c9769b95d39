"""The center's routes live in its parts (presence, roster, ...); web/app.py registers each."""

routers: list = []
