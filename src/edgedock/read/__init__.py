"""The read side: queries that join several features' tables and return read models.

Modules here may read any feature's models and never write; services write only their own
feature's tables. tests/test_layers.py enforces which package may import which.
"""
