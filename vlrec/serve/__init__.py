"""The serve layer: the shopping agent over HTTP (OpenAI-compatible chat, items API, web chat page)."""
