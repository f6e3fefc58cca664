"""Usage logging: one record per answered request, handed off without delaying the answer."""
