"""The ``serve:`` settings, kept with every other section in ``settings/serve.py`` (issue 28, 1); named
here too for the server's package and its users."""

from ..settings.serve import ServeSettings

__all__ = ["ServeSettings"]
