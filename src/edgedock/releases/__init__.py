"""Releases: immutable versions of an application, each a list of containers."""
