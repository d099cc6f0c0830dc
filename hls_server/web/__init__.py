"""The aiohttp application: composition (app), shared services (context), what every answer goes through
(middleware), the routes, the OpenAPI data, the access log and the runner."""
