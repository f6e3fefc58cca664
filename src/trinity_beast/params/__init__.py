"""Application parameters: typed definitions with the seed's defaults, live values, persistence."""
