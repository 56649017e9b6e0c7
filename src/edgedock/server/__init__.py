"""The HTTP server: REST API, device API and web pages on one port."""
