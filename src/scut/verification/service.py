"""Reading a verification result as a declared, audited service operation.

A submitter reads the results of their own unit's submissions only. The
check runs on the unit that sent the submission, so build_report, which
checks no caller, stays a building block for the services and tests.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from scut.db.models import Submission
from scut.db.session import Database
from scut.security.access import Target, operation
from scut.security.caller import Caller
from scut.verification.report import VerificationReport, build_report

log = logging.getLogger(__name__)


def _submission_target(
    database: Database, submission_id: int, *_: Any, **__: Any
) -> Target:
    """Name the submission and the unit that sent it.

    A number that does not exist has no unit, so a submitter is denied with
    the same message as for another unit's submission and cannot probe
    which numbers exist.
    """
    with database.session() as session:
        unit_id = session.scalar(
            select(Submission.unit_id).where(Submission.id == submission_id)
        )
    return Target("submission", [submission_id], unit_id=unit_id)


@operation("verification.read", before=_submission_target)
def read_result(
    database: Database, submission_id: int, *, caller: Caller
) -> VerificationReport:
    """Return the verification result of a submission.

    Raises AccessDenied when the caller may not read it, and
    SubmissionNotFound (for the centre's roles) when the number does not
    exist.
    """
    return build_report(database, submission_id)
