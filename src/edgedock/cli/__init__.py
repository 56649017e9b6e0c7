"""The `edgedock` command line: thin over services (admin) or over the REST API (operators)."""
