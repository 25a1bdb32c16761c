"""Other judges, re-implemented from their published rules, to measure canaria against."""
