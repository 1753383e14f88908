"""Output renderers: records, findings and summaries -> text, JSON, CSV, Parquet, HTML.

Renderers read finished records; they never open hives or run analyses.
"""
