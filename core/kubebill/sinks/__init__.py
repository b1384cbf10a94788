"""Where results go: Parquet/CSV results, Prometheus metrics, reports."""
