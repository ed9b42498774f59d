"""siting: see README.md."""
