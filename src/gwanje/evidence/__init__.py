"""Evidence export: clips, manifest, watermark, face masking, AES-256 package, custody log.

Wiring (done by the lead): ``gwanje.models`` imports :mod:`gwanje.evidence.models`; the web
app includes :data:`gwanje.evidence.api.router`; the CLI adds
:data:`gwanje.evidence.cli.evidence_command`.
"""

from gwanje.evidence.package import ClipInput, VerifyReport, verify_package

__all__ = ["ClipInput", "VerifyReport", "verify_package"]
