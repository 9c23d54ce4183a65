"""vlrec's version, read from the installed package's metadata (pyproject.toml is the one source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vlrec")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
