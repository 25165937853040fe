"""Pages of submissions: sending material, ingest progress, results and cases.

A unit sends files or an archive with their origin. The upload streams
to a private job folder, and the server's job thread ingests it in the
background, one job at a time. The progress page polls until the job
ends and then shows the verification result. The centre's analysts also
get the case pages and the files of each submission.
"""

from __future__ import annotations

from scut.web.submissions import api, case_pages, pages, results
from scut.web.submissions.routing import api_router, router

# The modules above add their routes to the routers when imported.
__all__ = ["api", "api_router", "case_pages", "pages", "results", "router"]
