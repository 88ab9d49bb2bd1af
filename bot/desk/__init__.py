"""The ticket desk: tickets, intake, staff commands, residents' views, SLA and follow-ups.

May import: bot.faq, bot.schedule, bot.dialogue, bot.store and the foundation modules.
"""
