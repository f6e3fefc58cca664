"""Exchange feeds: one protocol-only adapter module per exchange and one shared connection loop."""
