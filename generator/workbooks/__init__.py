"""Excel workbooks: one per deal, the pipeline, and the blank scorecard (jobs, cells, books, the parallel run)."""
