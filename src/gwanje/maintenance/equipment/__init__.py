"""The register of equipment, facilities and supplies (Art. 2 ④): items by class, owned per Art. 5, each
with its status and an append-only history of every change; registry cameras are items too."""
