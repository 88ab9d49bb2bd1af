"""Time: jobs and cron, the APScheduler runtime, the job log, working time, schedules/ files.

May import: bot.store and the foundation modules. apscheduler is imported only here.
"""
