"""RegenHeart trial warehouse: Dagster orchestration, ingestion and the `regenheart` CLI."""
