"""The command line (``vlrec``, ``python -m vlrec``), the demo, and their commands."""
