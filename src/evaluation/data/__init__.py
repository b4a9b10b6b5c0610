"""The data wing: canonical tables, readers, validation, synthetic data and aggregation.

Everything downstream (methods, notebooks, batch) reads data through this wing, so a data folder
in the canonical layout - from the synthetic generator or from real registers - looks the same.
"""
