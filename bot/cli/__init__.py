"""The `yishiting` command line (entry point `bot.cli.main:main`).

May import anything in bot and channels: it is the outermost layer.
"""
