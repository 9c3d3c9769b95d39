#!/usr/bin/env bash
# Fetch the console's front-end libraries from the npm registry into src/gwanje/static/vendor/.
# Control centers run on closed networks: the console never loads anything from a CDN at run time,
# so these files are installed next to the app (the folder is git-ignored).
# Idempotent: does nothing when the pinned versions are already in place (use --force to refetch).
set -euo pipefail

LEAFLET_VERSION="1.9.4"
HTMX_VERSION="2.0.11"
SWAGGER_UI_VERSION="5.35.0"
MARKERCLUSTER_VERSION="1.5.3"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/src/gwanje/static/vendor"
stamp="$vendor/VERSIONS"
want="leaflet@$LEAFLET_VERSION htmx.org@$HTMX_VERSION swagger-ui-dist@$SWAGGER_UI_VERSION leaflet.markercluster@$MARKERCLUSTER_VERSION"

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$vendor/leaflet/leaflet.js" && -f "$vendor/leaflet/leaflet.css" \
      && -f "$vendor/leaflet/images/marker-icon.png" && -f "$vendor/htmx/htmx.min.js" \
      && -f "$vendor/markercluster/leaflet.markercluster.js" && -f "$vendor/markercluster/MarkerCluster.css" \
      && -f "$vendor/swagger-ui/swagger-ui-bundle.js" && -f "$vendor/swagger-ui/swagger-ui.css" ]]; then
  echo "front-end assets up to date ($want)"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is required (Node.js 18+)" >&2; exit 1; }
tmp="$(mktemp -d)"
new="$vendor.new"
trap 'rm -rf "$tmp" "$new"' EXIT
# A throwaway prefix: no package.json or node_modules is left in the repository.
npm install --no-audit --no-fund --no-save --ignore-scripts --loglevel=error --prefix "$tmp" \
  "leaflet@$LEAFLET_VERSION" "htmx.org@$HTMX_VERSION" "swagger-ui-dist@$SWAGGER_UI_VERSION" \
  "leaflet.markercluster@$MARKERCLUSTER_VERSION" >/dev/null

rm -rf "$new"
mkdir -p "$new/leaflet" "$new/htmx" "$new/swagger-ui" "$new/markercluster"
cp "$tmp/node_modules/leaflet/dist/leaflet.js" "$tmp/node_modules/leaflet/dist/leaflet.css" "$new/leaflet/"
cp -R "$tmp/node_modules/leaflet/dist/images" "$new/leaflet/images"
cp "$tmp/node_modules/leaflet/LICENSE" "$new/leaflet/LICENSE"
# The map clusters cameras at one site and spreads them apart on a click (leaflet.markercluster).
cluster="$tmp/node_modules/leaflet.markercluster"
cp "$cluster/dist/leaflet.markercluster.js" "$cluster/dist/MarkerCluster.css" "$cluster/dist/MarkerCluster.Default.css" \
  "$new/markercluster/"
cp "$cluster/MIT-LICENCE.txt" "$new/markercluster/LICENSE" 2>/dev/null || cp "$cluster"/LICEN[CS]E* "$new/markercluster/LICENSE"
cp "$tmp/node_modules/htmx.org/dist/htmx.min.js" "$new/htmx/htmx.min.js"
cp "$tmp/node_modules/htmx.org/LICENSE" "$new/htmx/LICENSE"
# /api/docs (gwanje.web.docs) serves Swagger UI from here, never from a CDN.
swagger="$tmp/node_modules/swagger-ui-dist"
cp "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css" "$swagger/favicon-32x32.png" "$new/swagger-ui/"
cp "$swagger/LICENSE" "$new/swagger-ui/LICENSE"
echo "$want" > "$new/VERSIONS"
# Swap in one step so a running server never sees a half-written folder for long.
rm -rf "$vendor"
mv "$new" "$vendor"
echo "installed $want into ${vendor#"$root"/}"
