"""Tenants: the boundary nothing ever crosses."""
