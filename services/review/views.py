"""What the templates are given: links to resolutions, labels, query strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from services.core.items import label as category_label
from services.core.review import STATUS_LABELS, Status

_RESOLUTION = re.compile(r"S/RES/(\d+) ?\((\d{4})\)")
_DOCUMENT = re.compile(r"S/(\d{4})/(\d+)")


def citation_url(citation: str) -> str | None:
    """The UN document a citation rests on, at undocs.org: ``S/RES/2752 (2024), para 2``
    links to https://undocs.org/S/RES/2752(2024); a report ``S/2023/674`` to its own."""
    if m := _RESOLUTION.search(citation):
        return f"https://undocs.org/S/RES/{m[1]}({m[2]})"
    if m := _DOCUMENT.search(citation):
        return f"https://undocs.org/S/{m[1]}/{m[2]}"
    return None


def query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = urlencode(list(pairs))
    return f"?{encoded}" if encoded else ""


def params(request: Request) -> dict[str, list[str]]:
    """The query string as each name to its values, in order."""
    out: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        out.setdefault(name, []).append(value)
    return out


def when(value: datetime | date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def status_label(value: Status | str) -> str:
    return STATUS_LABELS[Status(value)]


def pretty(value: Any) -> str:
    """JSON for people: indented, non-ASCII kept (the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


#: What a screening may change in a finding, as its history names it (audit ``finding.change``).
CHANGED_FIELDS = {
    "severity": "severity",
    "summary": "summary",
    "citations": "citations",
    "designated": "list entry",
    "visible_regimes": "seen by",
}


def _shown(field: str, value: Any) -> str:
    if value is None:
        return "—"
    if field == "citations":
        return "; ".join(str(c) for c in value) or "none"
    if field == "visible_regimes":
        return ", ".join(value) or "admins only"
    if field == "designated" and isinstance(value, Mapping):
        score = value.get("score")
        shown = f"{score:.2f}" if isinstance(score, int | float) else "?"
        return f"{value.get('name')} (matched “{value.get('matched_name')}”, score {shown})"
    return str(value)


def content_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[tuple[str, str, str]]:
    """What an audited change of content did, field by field: (label, before, after)."""
    before, after = before or {}, after or {}
    return [
        (label, _shown(field, before.get(field)), _shown(field, after.get(field)))
        for field, label in CHANGED_FIELDS.items()
        if field in before or field in after
    ]


def template_globals() -> Mapping[str, Any]:
    return {
        "pretty": pretty,
        "citation_url": citation_url,
        "query": query,
        "when": when,
        "status_label": status_label,
        "content_changes": content_changes,
        "category_label": category_label,
        "statuses": list(Status),
    }


def render(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> Response:
    """A page from ``templates/``; ``context`` may hold ``who`` (the signed-in user)."""
    templates: Jinja2Templates = request.app.state.deps.templates
    return templates.TemplateResponse(request, name, dict(context), status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status)


def login_url(next_path: str = "/") -> str:
    return "/login" + query([("next", next_path)] if next_path not in ("", "/") else [])


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/findings"
    return value
