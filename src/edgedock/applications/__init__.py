"""Applications: named groups of releases."""
