"""The API's documentation page, served with Swagger UI from the package, never from a CDN.

Control centers run on closed networks: ``scripts/install-assets.sh`` installs ``swagger-ui-dist``
from the npm registry into ``static/vendor/swagger-ui/`` beside leaflet and htmx, and this page
points at those files. The validator badge (which would call validator.swagger.io) is off.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from gwanje.http.deps import PUBLIC

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"
SWAGGER_UI = "/static/vendor/swagger-ui"

router = APIRouter(tags=["meta"])


@router.get(DOCS_PATH, dependencies=[PUBLIC], include_in_schema=False, response_class=HTMLResponse)
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title="gwanje (관제) API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
