"""Rotation: replace credentials with new ones across releases and deployments in one step."""
