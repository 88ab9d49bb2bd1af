"""The data folder: durable TinyDB storage, the repositories over it and the outbox.

May import: the foundation modules at the top of `bot` (models, errors, …). Nothing here
knows about tickets, the FAQ or schedules; those capabilities keep their own repositories
on top of the store (`Store.repo`).
"""
