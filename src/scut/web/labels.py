"""Names of verdicts, categories and roles as pages show them, as catalog messages."""

from __future__ import annotations

from types import MappingProxyType

from scut.hashsets.categories import PROJECTVIC, UK
from scut.matching.verdicts import KNOWN, KNOWN_GOOD, NEAR, NEW
from scut.security.caller import ADMIN, ANALYST, AUDITOR, SUBMITTER, SUPERVISOR
from scut.web.i18n import N_

VERDICT_LABELS = MappingProxyType(
    {
        KNOWN: N_("Known"),
        NEAR: N_("Near match"),
        NEW: N_("New"),
        KNOWN_GOOD: N_("Known good"),
    }
)
CATEGORY_LABELS = MappingProxyType(
    {
        (PROJECTVIC, "0"): N_("0 non-pertinent"),
        (PROJECTVIC, "1"): N_("1 child abuse material"),
        (PROJECTVIC, "2"): N_("2 child exploitive or age difficult"),
        (PROJECTVIC, "3"): N_("3 computer-generated or animation"),
        (PROJECTVIC, "4"): N_("4 comparison"),
        (UK, "A"): N_("UK category A"),
        (UK, "B"): N_("UK category B"),
        (UK, "C"): N_("UK category C"),
    }
)
NOT_CATEGORISED = N_("Not categorised")


def verdict_label(verdict: str) -> str | None:
    """Return the message naming ``verdict``, or None for a verdict unknown here."""
    return VERDICT_LABELS.get(verdict)


def category_label(scheme: str | None, code: str | None) -> str | None:
    """Return the message naming a category, or None for a scheme unknown here."""
    if code is None:
        return NOT_CATEGORISED
    return CATEGORY_LABELS.get((scheme or "", code))


ROLE_LABELS = MappingProxyType(
    {
        SUBMITTER: N_("Submitter"),
        ANALYST: N_("Analyst"),
        SUPERVISOR: N_("Supervisor"),
        AUDITOR: N_("Auditor"),
        ADMIN: N_("Administrator"),
    }
)


def role_label(role: str) -> str | None:
    """Return the message naming ``role``, or None for a role unknown here."""
    return ROLE_LABELS.get(role)


# The label functions every template may call.
TEMPLATE_FUNCTIONS = MappingProxyType(
    {
        "verdict_label": verdict_label,
        "category_label": category_label,
        "role_label": role_label,
    }
)
