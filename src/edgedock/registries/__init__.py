"""Brokered registries: edgedock as the token service of registries the operator runs."""
