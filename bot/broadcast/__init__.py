"""Broadcasts to the compounds' groups: admins' /broadcast, schedules/ ones, delivery reports.

May import: bot.schedule, bot.store and the foundation modules.
"""
