"""The staff and admins' web console: pages, actions through the chat core, login sessions.

May import: foundation, store, capabilities, core, wiring (and aiohttp, here only). Every
change it makes goes through the same services as chat (`App.answer`), so nothing done on
the web can disagree with what happens in chat.
"""
