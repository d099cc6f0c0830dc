"""Tokens: where a request carries them (credentials), what a verified payload grants (claims), the keys (keys),
checking (verifier) and signing (minting). Only keys, verifier and minting import ``jwt``."""
