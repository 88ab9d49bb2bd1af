"""The ticket desk: tickets and their history, intake, staff commands, residents' views,
SLA deadlines and follow-ups.

May import: bot.faq, bot.schedule, bot.dialogue, bot.store and the foundation modules.
"""
