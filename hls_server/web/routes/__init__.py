"""One module per group of routes; each registers its own with ``add_routes(app)`` and asks the gate first."""
