"""Deployments: one release on one device, with its reported status and timeline."""
