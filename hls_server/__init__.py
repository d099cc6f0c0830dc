"""hlsgate's origin server (JWT-checked HLS serving arrives with the secure-origin issue) and CLI."""

__version__ = "0.1.0"
