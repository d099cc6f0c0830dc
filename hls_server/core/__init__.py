"""The origin's decisions, with no HTTP in them (no ``aiohttp.web``): every endpoint asks ``gate.Gate``."""
