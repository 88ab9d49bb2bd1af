"""The evening service (延时服务): bookings, the /book dialogue, rosters and reminders.

May import: bot.schedule, bot.dialogue, bot.store and the foundation modules.
"""
