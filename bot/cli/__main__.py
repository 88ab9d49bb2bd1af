"""`python -m bot.cli`: the same as the `yishiting` command."""

from bot.cli.main import main

raise SystemExit(main())
