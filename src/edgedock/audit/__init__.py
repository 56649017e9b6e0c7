"""The audit trail: an append-only, per-tenant record of who did what. Never a secret."""
