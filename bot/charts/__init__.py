"""Charts drawn on the server: pygal SVG for the web console, rasterised to PNG for chats.

The only importer of pygal, cairosvg and Pillow. May import: foundation.
"""
