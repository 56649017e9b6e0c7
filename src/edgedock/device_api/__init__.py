"""The device API: what agents call. Authenticated by device tokens, never by API tokens."""
