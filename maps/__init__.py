"""maps: see README.md."""
