"""Who is calling a service: a signed-in user or the local operator.

Every service call carries a ``Caller``. The web application builds one
from a session or an API token; the command line, run on the server by
the operating-system account that owns the data directory, builds the
local operator, which acts with every role (as a database superuser does
over a local socket) and is audited under that account's name and the
analyst it names with ``--analyst``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUBMITTER = "submitter"
ANALYST = "analyst"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (SUBMITTER, ANALYST, SUPERVISOR, AUDITOR, ADMIN)


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity, roles and unit a service call runs under."""

    # The user name, or "local:<os account>" for the local operator.
    user: str
    roles: frozenset[str]
    user_id: int | None = None
    unit_id: int | None = None
    unit: str = ""
    # The client address, or "local" for the command line.
    source: str = "local"
    # A case reference or a text saying why, required to view personal
    # data and to export or transfer anything.
    justification: str = ""
    local_operator: bool = False
    # For the local operator: the analyst named with --analyst.
    acting_for: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Return the name recorded with changes: the analyst named, else the user."""
        if self.acting_for:
            return f"{self.acting_for} (via {self.user})"
        return self.user

    def with_justification(self, text: str) -> Caller:
        """Return the same caller with a justification for the next calls."""
        return Caller(
            user=self.user,
            roles=self.roles,
            user_id=self.user_id,
            unit_id=self.unit_id,
            unit=self.unit,
            source=self.source,
            justification=text.strip(),
            local_operator=self.local_operator,
            acting_for=self.acting_for,
            extra=dict(self.extra),
        )


def local_operator(os_account: str, acting_for: str | None = None) -> Caller:
    """Return the caller of a command run on the server by the data's owner."""
    return Caller(
        user=f"local:{os_account}",
        roles=frozenset(ROLES),
        source="local",
        local_operator=True,
        acting_for=acting_for.strip() if acting_for and acting_for.strip() else None,
    )
