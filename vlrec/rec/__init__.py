"""Recommendations from interaction history: scorers (popularity, co-occurrence, MF, content, transitions), their blend, metrics, and the user profiles the agent ranks with."""
