"""gwanje (관제): operations platform for Korean municipal integrated CCTV control centers."""

__version__ = "0.1.0"
