"""Flow model: bidirectional flows and per-record accounting."""
