"""The operator console (HTML). Placeholder wiring; the console views are installed here."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None
