"""sinks: see README.md."""
