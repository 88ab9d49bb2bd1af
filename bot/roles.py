"""Who may do what: resident, staff or admin, decided in this one place."""

from __future__ import annotations

from bot.config import RolesConfig
from bot.models import Person, Role


class Roles:
    """Resolves a person's role from config; trusted local channels may declare their own."""

    def __init__(self, config: RolesConfig) -> None:
        self._admins = frozenset(config.admins)
        self._staff = frozenset(config.staff)
        self._trusted = frozenset(config.trusted_role_channels)

    def role_of(self, person: Person, claimed: Role | None = None) -> Role:
        if claimed is not None and person.channel in self._trusted:
            return claimed
        if person.key in self._admins:
            return Role.ADMIN
        if person.key in self._staff:
            return Role.STAFF
        return Role.RESIDENT

    def admins(self) -> frozenset[str]:
        return self._admins
