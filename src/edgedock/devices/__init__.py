"""Devices: the edge machines whose agents run releases."""
