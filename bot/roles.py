"""Who may do what (resident, staff, admin), checked in this one place; where staff are reached."""

from __future__ import annotations

from typing import Protocol

from bot.config import Settings
from bot.errors import Localized, UserError
from bot.models import Address, Person, Role


class KnownRoles(Protocol):
    """People whose role the bot has seen them speak in (on a trusted channel: the console)."""

    def with_role(self, *roles: str) -> list[str]: ...


class Roles:
    """Resolves a person's role from settings; trusted local channels may declare their own."""

    def __init__(self, settings: Settings, seen: KnownRoles) -> None:
        self.settings = settings
        self._admins = frozenset(settings.roles.admins)
        self._staff = frozenset(settings.roles.staff)
        self._trusted = frozenset(settings.roles.trusted_role_channels)
        self._seen = seen

    def role_of(self, person: Person, claimed: Role | None = None) -> Role:
        if claimed is not None and person.channel in self._trusted:
            return claimed
        if person.key in self._admins:
            return Role.ADMIN
        if person.key in self._staff:
            return Role.STAFF
        return Role.RESIDENT

    def role_of_key(self, person_key: str) -> Role:
        """A person's role by key alone (the web console): the settings' roles, and on a
        trusted channel (the console) the role they declared there."""
        settled = self.settled_role(person_key, "")
        if settled:
            return Role(settled)
        if person_key in self._declared(Role.ADMIN.value):
            return Role.ADMIN
        if person_key in self._declared(Role.STAFF.value):
            return Role.STAFF
        return Role.RESIDENT

    def admins(self) -> frozenset[str]:
        return self._admins

    def settled_role(self, person_key: str, remembered: str) -> str:
        """The role a person remembered with `remembered` keeps now ('' for none): on a trusted
        channel what they declared there; anywhere else only what the settings say today
        (someone removed from roles.admins is no admin, whatever was remembered)."""
        if person_key.partition(":")[0] in self._trusted:
            return remembered
        if person_key in self._admins:
            return Role.ADMIN.value
        if person_key in self._staff:
            return Role.STAFF.value
        return ""

    def _declared(self, *roles: str) -> set[str]:
        """People who declared one of `roles` on a trusted channel (the console)."""
        return {k for k in self._seen.with_role(*roles) if k.partition(":")[0] in self._trusted}

    def admin_addresses(self) -> list[Address]:
        """`admin_chats`, else the admins' private chats: configured ones and those who have
        spoken as admins on a trusted channel (the console)."""
        if self.settings.admin_chats:
            return [Address.parse(key) for key in self.settings.admin_chats]
        admins = self._admins | self._declared(Role.ADMIN.value)
        return [Address.parse(key) for key in sorted(admins)]

    def is_staff_chat(self, address: Address) -> bool:
        """Staff rooms, admin chats and staff members' private chats: not quiet at night."""
        key = str(address.room)
        rooms = {room.chat for room in self.settings.staff_rooms}
        if key in rooms or key in self.settings.admin_chats:
            return True
        if key in self._staff or key in self._admins:
            return True
        return key in self._declared(Role.STAFF.value, Role.ADMIN.value)


def require_for_command(role: Role, needed: Role, command: str) -> None:
    """A command someone's role does not allow: refused, naming the role it needs."""
    if not role.allows(needed):
        raise UserError("error_permission", command=command, role=Localized(f"role_{needed.value}"))


def require_for_button(role: Role, needed: Role) -> None:
    """A button (perhaps forged, perhaps forwarded) someone's role does not allow: refused."""
    if not role.allows(needed):
        raise UserError("error_permission_button", role=Localized(f"role_{needed.value}"))
