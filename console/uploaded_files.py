"""The one file of a posted form (multipart/form-data), read with the standard library's
MIME parser (the console has no python-multipart), up to a size limit."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import HTTP

from starlette.requests import Request

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class BadUpload(Exception):
    """The upload cannot be read: the message says why, for the page."""


async def uploaded_file(request: Request, field: str) -> tuple[str, bytes] | None:
    """The file posted as `field` (its name and content); None when none was chosen."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None  # a form without a file input
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_UPLOAD_BYTES:
        raise BadUpload(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        raise BadUpload(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    form = message_from_bytes(head + body, policy=HTTP)
    if not form.is_multipart():
        return None  # no field at all
    for part in form.iter_parts():
        if part.get_param("name", header="content-disposition") != field:
            continue
        content = part.get_payload(decode=True)
        name = part.get_filename() or ""
        if not name and not content:
            return None
        return name, content if isinstance(content, bytes) else b""
    return None
