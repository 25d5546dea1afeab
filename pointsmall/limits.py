"""Request bodies are bounded before they are read (docs/decisions/0018).

Django reads a multipart body in full, spooling files to disk, before any form sees them:
``DATA_UPLOAD_MAX_MEMORY_SIZE`` only counts the fields that are not files. So a 30 MB
"avatar" used to be read and stored in a temporary file just to be refused by the form.
Here:

- ``RequestBodyLimitMiddleware`` answers 413 when ``Content-Length`` is over the limit,
  before a byte of the body is read (nothing upstream of it reads bodies);
- ``BoundedUploadHandler`` (first in ``FILE_UPLOAD_HANDLERS``) stops the multipart parser
  once the files passed the same limit, whatever ``Content-Length`` said, and the
  middleware then answers 413 instead of letting the view see a truncated form;
- ``BodyLimitASGIHandler`` does the same for ASGI, where Django reads the whole body,
  chunked or not, before any middleware runs. (Under WSGI a body without
  ``Content-Length`` is never read: Django takes it as empty.)

Members may send ``REQUEST_BODY_MAX_BYTES`` (one 5 MB picture and its form), staff
``REQUEST_BODY_MAX_BYTES_STAFF`` (several product pictures, a code file).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat

_EXCEEDED = "_body_limit_exceeded"


def body_limit(request: HttpRequest) -> int:
    """The largest body this request may carry, in bytes: staff may send more than members."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return settings.REQUEST_BODY_MAX_BYTES_STAFF
    return settings.REQUEST_BODY_MAX_BYTES


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.headers.get("content-length") or "")
    except ValueError:
        return None


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    return render(request, "errors/413.html", {"limit": filesizeformat(limit)}, status=413)


class RequestBodyLimitMiddleware:
    """413 for a body over the limit, before it is read. After AuthenticationMiddleware: the limit depends on who asks.

    Nothing before it in MIDDLEWARE reads the body (CsrfViewMiddleware reads it in
    ``process_view``, which runs after every middleware's ``__call__``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request)
        # Who asks (a session and user lookup) matters only for a body over the members' limit
        # or of unknown length; BoundedUploadHandler, created when the body is parsed, reads it.
        if length is not None and length <= settings.REQUEST_BODY_MAX_BYTES:
            limit = settings.REQUEST_BODY_MAX_BYTES
        else:
            limit = body_limit(request)
        request.body_limit = limit  # type: ignore[attr-defined]
        if length is not None and length > limit:
            return too_large(request, limit)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        # CsrfViewMiddleware has parsed the body by now; a csrf-exempt view would parse it
        # itself, so parse it here, while a refusal can still replace the view.
        if request.method == "POST" and request.content_type == "multipart/form-data":
            request.POST  # noqa: B018 (parsing is the point)
        if getattr(request, _EXCEEDED, False):
            return too_large(request, request.body_limit)  # type: ignore[attr-defined]
        return None


class BoundedUploadHandler(FileUploadHandler):
    """Stops reading a multipart body once its files pass the request's limit (``request.body_limit``).

    Raising ``StopUpload(connection_reset=True)`` leaves the rest of the body unread (Django
    would otherwise read it to the end); the middleware sees the mark and answers 413.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = getattr(request, "body_limit", None) or settings.REQUEST_BODY_MAX_BYTES
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                setattr(self.request, _EXCEEDED, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class BodyTooLargeError(Exception):
    """The request body is over the staff limit: answered 413 before Django reads it all."""


class BodyLimitASGIHandler(ASGIHandler):
    """Django's ASGI handler, but it stops reading a body past the largest limit and answers 413.

    Django's own reads every body in full, chunked ones included, before any middleware
    runs. The limit here is the staff one (who asks is not known yet); the middleware then
    applies the member limit.
    """

    async def handle(self, scope, receive, send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        try:
            if declared.isdigit() and int(declared) > settings.REQUEST_BODY_MAX_BYTES_STAFF:
                raise BodyTooLargeError()
            await super().handle(scope, receive, send)
        except BodyTooLargeError:
            response = HttpResponse(
                "413 请求过大 · Request too large", status=413, content_type="text/plain; charset=utf-8"
            )
            await self.send_response(response, send)

    async def read_body(self, receive):
        limit = settings.REQUEST_BODY_MAX_BYTES_STAFF
        body_file = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")  # noqa: SIM115
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                body_file.close()
                raise BodyTooLargeError()
            body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file
