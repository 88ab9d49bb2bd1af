"""Dialogues: what makes every multi-step flow forgiving (typed choices, drafts, timeouts).

May import: bot.store and the foundation modules.
"""
