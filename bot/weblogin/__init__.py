"""Login to the web console without passwords: signed one-time links and the `/web` command.

May import: foundation, store. The web console (bot/web/) and the command line verify and
make links with it; the chat core offers `/web` through it.
"""
