"""API tokens: how people and scripts authenticate, each bound to one tenant."""
