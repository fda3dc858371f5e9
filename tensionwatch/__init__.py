"""tensionwatch: the command line, the configuration, and the process that runs it all."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tensionwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
