"""A member's picture in a form: decoded and counted only once the rest of the form is valid.

One rule for every member form with a picture (avatar, review photo, feedback screenshot):
the picture is decoded, and counted against the member's upload budget
(``accounts.uploads.rate.upload_count``, ``UPLOAD_RATE_LIMIT``), from the form's ``clean()``
and only when every other field passed. A post refused for its text costs no decode and no
upload; a refused picture itself counts (its decode was the cost). A browser can't refill a
file input, so a form sent back with a mistake elsewhere asks for the picture again
(``picture_lost``, ``templates/partials/picture_again.html``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest

from accounts.uploads.exceptions import ImageRefusedError, UploadRateLimitedError
from accounts.uploads.rate import upload_count
from pointsmall.kernel.errors import error_text, form_error


def picture_clean(
    form: forms.BaseForm,
    field: str,
    *,
    prepare: Callable[..., Any],
    request: HttpRequest | None,
) -> None:
    """Decode ``form``'s picture ``field`` with ``prepare(upload=...)`` into ``cleaned_data[field]``.

    Call at the end of the form's ``clean()``, after ``super().clean()``. No picture sent:
    ``cleaned_data[field]`` is ``None``. Another field refused: nothing is decoded and nothing
    counted (the form is sent back anyway). Otherwise one upload is counted for ``request``'s
    member (``None`` counts nothing: e.g. a form built outside a request) and the picture
    decoded; a refusal of either (``UploadRateLimitedError``, ``ImageRefusedError``) is shown
    under ``field``, and the refused picture has counted.
    """
    data = form.cleaned_data
    upload = data.get(field)
    if not upload:
        data[field] = None
        return
    if form.errors:
        return
    try:
        if request is not None:
            upload_count(request=request)
        data[field] = prepare(upload=upload)
    except (UploadRateLimitedError, ImageRefusedError) as error:
        form_error(form, error, field)


def picture_lost(form: forms.BaseForm, field: str) -> bool:
    """The form came back with a mistake elsewhere after a picture was sent in ``field``: the page
    asks the member to attach it again (a browser can't refill a file input)."""
    return form.is_bound and bool(form.errors) and bool(form.files.get(field)) and field not in form.errors


def pictures_clean(
    form: forms.BaseForm,
    field: str,
    *,
    prepare: Callable[..., Any],
    request: HttpRequest | None,
) -> None:
    """``picture_clean`` for a field of several pictures: ``cleaned_data[field]`` becomes the list of
    prepared pictures, in the order sent (``[]`` for none).

    Call at the end of ``clean()``; a cap on how many belongs in the field's own ``clean_<field>``
    (refused there, nothing is decoded or counted). Each picture counts one upload and is decoded
    in turn; the first refusal is shown under ``field`` (naming the file when several were sent)
    and stops there: the pictures before it and the refused one have counted.
    """
    data = form.cleaned_data
    uploads = data.get(field) or []
    if not uploads:
        data[field] = []
        return
    if form.errors:
        return
    prepared = []
    for upload in uploads:
        try:
            if request is not None:
                upload_count(request=request)
            prepared.append(prepare(upload=upload))
        except (UploadRateLimitedError, ImageRefusedError) as error:
            if len(uploads) == 1:
                form_error(form, error, field)
            else:
                form.add_error(field, forms.ValidationError(f"{upload.name}: {error_text(error)}", code=error.code))
            return
    data[field] = prepared
