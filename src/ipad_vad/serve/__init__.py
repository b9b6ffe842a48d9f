"""`ipad serve`: one long-running process scoring many cameras (issue 27).

``settings.py`` (the typed ``serve:`` section, no torch), ``config.py`` (the cameras' YAML),
``sources.py`` (frame readers with fault reporting), ``metrics.py`` (Prometheus), ``server.py`` (the
batching loop, hot model swaps, outputs, the HTTP endpoints). Nothing here is imported by ``ipad``
until the command runs.
"""
