"""Recommendations from interaction history: data, splits, scorers, blend, metrics."""
