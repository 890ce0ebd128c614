"""The forms that change a finding: status, assignment, comments, reopening, bulk triage.

Each answers with a redirect back to the page it came from (post/redirect/get), so a
reload never posts twice.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
