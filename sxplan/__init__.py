"""sxplan: CLI, project config, run orchestration and embedded Shanxi demo data."""
