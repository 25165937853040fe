"""Names of the records' values as pages show them: categories, roles, actions.

The services store these values as English words. Each is a catalog
message here, and a value with no message is shown as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scut.web.i18n import N_

PERSON_CATEGORIES = MappingProxyType(
    {
        "victim": N_("Victim"),
        "offender": N_("Offender"),
        "suspect": N_("Suspect"),
        "convicted": N_("Convicted person"),
        "witness": N_("Witness"),
        "other": N_("Other"),
    }
)
GENDERS = MappingProxyType(
    {"male": N_("Male"), "female": N_("Female"), "unknown": N_("Not known")}
)
# Roles of a person in a series or a media.
LINK_ROLES = MappingProxyType(
    {
        "victim": N_("Victim"),
        "offender": N_("Offender"),
        "witness": N_("Witness"),
        "other": N_("Other"),
    }
)
NAME_KINDS = MappingProxyType(
    {
        "primary": N_("Main name"),
        "alias": N_("Alias"),
        "spelling": N_("Other spelling"),
    }
)
ADDRESS_KINDS = MappingProxyType(
    {
        "residence": N_("Residence"),
        "registration": N_("Registered address"),
        "last-known": N_("Last known address"),
    }
)
IDENTIFICATION = MappingProxyType(
    {"identified": N_("Identified"), "unidentified": N_("Not identified")}
)
NOTE_KINDS = MappingProxyType(
    {
        "object": N_("Object"),
        "place": N_("Place"),
        "language": N_("Language"),
        "other": N_("Other"),
    }
)
PERSON_ACTIONS = MappingProxyType(
    {
        "created": N_("Recorded"),
        "updated": N_("Changed"),
        "categories-added": N_("Categories added"),
        "category-removed": N_("Category removed"),
        "name-added": N_("Name added"),
        "address-added": N_("Address added"),
        "identification": N_("Identification changed"),
        "linked": N_("Linked"),
        "unlinked": N_("Link removed"),
        "reviewed": N_("Record reviewed"),
    }
)
SERIES_ACTIONS = MappingProxyType(
    {
        "created": N_("Created"),
        "renamed": N_("Renamed"),
        "media-added": N_("Media added"),
        "media-moved-out": N_("Media moved to another series"),
        "media-removed": N_("Media removed"),
        "status": N_("Status changed"),
        "merged": N_("Another series merged in"),
        "merged-into": N_("Merged into another series"),
        "split": N_("Media split off"),
        "split-from": N_("Split off from another series"),
        "case-linked": N_("Case linked"),
    }
)
# Outcome counts of a convicted-offender import, in the order shown.
IMPORT_COUNTS = MappingProxyType(
    {
        "rows": N_("Rows"),
        "new": N_("New convictions"),
        "updated": N_("Updated"),
        "unchanged": N_("Unchanged"),
        "linked_idnp": N_("Linked by IDNP"),
        "linked_probable": N_("Linked by name and birth date"),
        "review": N_("Waiting for review"),
        "new_persons": N_("New persons"),
        "rejected": N_("Rejected"),
    }
)
# Fields of persons, import rows and the linkage comparison.
FIELDS = MappingProxyType(
    {
        "record_id": N_("Record number"),
        "idnp": N_("IDNP"),
        "last_name": N_("Last name"),
        "first_name": N_("First name"),
        "patronymic": N_("Patronymic"),
        "gender": N_("Gender"),
        "nationality": N_("Nationality"),
        "birth_date": N_("Date of birth"),
        "birth_place": N_("Place of birth"),
        "address": N_("Address"),
        "article": N_("Article"),
        "court": N_("Court"),
        "sentence_date": N_("Date of sentence"),
        "release_date": N_("Date of release"),
        "registry": N_("Registry"),
        "categories": N_("Categories"),
        "notes": N_("Notes"),
        # Keys of the details of person and series history events.
        "category": N_("Category"),
        "kind": N_("Kind"),
        "name": N_("Full name"),
        "role": N_("Role"),
        "series": N_("Series"),
        "media": N_("Media"),
        "case": N_("Case"),
        "from": N_("From"),
        "to": N_("To"),
        "into": N_("Into"),
        "from_id": N_("Number"),
        "into_id": N_("Number"),
        "by": N_("Why"),
        "review_due": N_("Review due"),
        "victim_identified": N_("Victim identified"),
        "offender_identified": N_("Offender identified"),
    }
)
# Keys of series history events named otherwise than the person fields.
SERIES_FIELDS = MappingProxyType({"name": N_("Name")})
# Levels of agreement that the linkage gives each compared field.
LINK_LEVELS = MappingProxyType(
    {
        "exact": N_("same"),
        "same loose key": N_("same when spelling is ignored"),
        "same name group": N_("same given name in another form"),
        "day and month transposed": N_("day and month swapped"),
        "same year and month, day unknown": N_("same year and month, day unknown"),
        "same year, month unknown": N_("same year, month unknown"),
        "same year and month": N_("same year and month"),
        "same year": N_("same year"),
        "one year apart": N_("one year apart"),
        "different": N_("different"),
        "missing": N_("missing on one side"),
    }
)
# Jaro-Winkler levels are labelled "similar (Jaro-Winkler >= 0.9)".
SIMILAR_PREFIX = "similar"
SIMILAR = N_("similar")

_GROUPS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "category": PERSON_CATEGORIES,
        "gender": GENDERS,
        "role": LINK_ROLES,
        "name_kind": NAME_KINDS,
        "address_kind": ADDRESS_KINDS,
        "identification": IDENTIFICATION,
        "note_kind": NOTE_KINDS,
        "person_action": PERSON_ACTIONS,
        "series_action": SERIES_ACTIONS,
        "import_count": IMPORT_COUNTS,
        "field": FIELDS,
        "link_level": LINK_LEVELS,
    }
)


def record_label(group: str, value: str | None) -> str:
    """Return the message naming ``value`` of ``group``, or the value itself.

    Templates pass the result through the ``translate`` filter, which
    leaves a value without a message as it is. An empty value is shown as
    a dash, since the empty message would translate to the catalog header.
    """
    text = value or ""
    if not text:
        return "\u2014"
    if group == "link_level" and text.startswith(SIMILAR_PREFIX):
        return SIMILAR
    if group == "series_field":
        return SERIES_FIELDS.get(text) or FIELDS.get(text, text)
    return _GROUPS[group].get(text, text)
