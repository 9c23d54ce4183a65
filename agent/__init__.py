"""Conversation and orchestration: the CLI, the demo, and (soon) the shopping agent."""
