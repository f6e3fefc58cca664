"""The replay exchange: local WebSocket and REST endpoints that replay recorded frames."""
