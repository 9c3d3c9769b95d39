"""Build hook only (the package is declared in pyproject.toml): compile the console's gettext catalogues.

``src/gwanje/locale/*/LC_MESSAGES/*.po`` are the sources; their ``.mo`` files are not committed, so
every build (wheel, sdist → wheel, editable install) compiles those that are missing or older than
their ``.po`` before the package data is collected.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path(__file__).resolve().parent / "src" / "gwanje" / "locale"


def compile_catalogues(locale_dir: Path = LOCALE) -> None:
    from babel.messages.mofile import write_mo  # a build requirement (pyproject.toml), not needed to read this
    from babel.messages.pofile import read_po

    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parents[1].name, domain=po.stem)
        with mo.open("wb") as f:
            write_mo(f, catalog)


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        compile_catalogues()
        # build_py lists package data lazily and caches it; list it again now that the .mo files exist.
        self.__dict__.pop("data_files", None)
        super().run()


setup(cmdclass={"build_py": BuildPyWithCatalogues})
