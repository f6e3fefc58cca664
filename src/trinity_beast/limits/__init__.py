"""Per-key rate limits and quotas, and the adaptive connection governor."""
