"""``python -m vlrec``: the command line."""

from vlrec.cli.main import main

raise SystemExit(main())
