"""hlsgate's origin: a JWT-checked HLS server and the ``hlsgate`` command.

- ``core/``: what the origin decides, without HTTP: names, tokens (``auth/``), grants, the gate, groups, the
  media root and its playlist cache, token propagation, the catalog, player configs, settings;
- ``web/``: the aiohttp application that asks the core: context, middleware, route modules, OpenAPI, access log,
  the runner;
- ``cli.py`` and ``demo.py``: the commands. docs/architecture.md walks a request through them.
"""

__version__ = "0.1.0"
