"""The shopping agent: a session's state, and the steps of a turn (understand, retrieve, reply)."""
