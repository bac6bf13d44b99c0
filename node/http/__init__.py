"""The node's HTTP surface (aiohttp): one module per concern, wired in `app.py`."""
