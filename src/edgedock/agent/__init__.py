"""The device agent: polls the server for desired state and makes the local engine match it."""
