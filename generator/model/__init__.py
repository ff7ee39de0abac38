"""The model: scoring, timelines, deal rules and the pipeline. Pure computation: no paths, no I/O."""
