"""Evidence export: clips, manifest, watermark, face masking, AES-256 package, custody log.

The web app includes :data:`gwanje.evidence.api.routers`; ``gwanje evidence verify`` (``gwanje.cli.evidence``)
re-checks a package anywhere with :func:`gwanje.evidence.package.verify_package`.
"""

from gwanje.evidence.package import ClipInput, VerifyReport, verify_package

__all__ = ["ClipInput", "VerifyReport", "verify_package"]
