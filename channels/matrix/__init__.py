"""The Matrix adapter (matrix-nio), split by concept.

May import: bot.models and the other channels modules only.
"""
