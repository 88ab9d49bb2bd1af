"""The FAQ capability: faq.yaml loading, text analysis, the matcher, its evaluation.

May import: bot.store and the foundation modules. Never the desk, schedules or the core.
"""
