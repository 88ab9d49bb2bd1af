"""Dialogues: the one engine every multi-step flow runs on, and what makes it forgiving.

May import: bot.store and the foundation modules.
"""
