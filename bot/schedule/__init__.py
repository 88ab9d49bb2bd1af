"""Time: the job model and cron, the APScheduler runtime, the job log, working time and
holidays, and the operators' schedules/ folder.

May import: bot.store and the foundation modules. Only `bot.schedule.runtime` imports
apscheduler.
"""
