"""Image credentials: registry logins stored once, encrypted, and never shown again."""
