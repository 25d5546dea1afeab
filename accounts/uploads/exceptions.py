"""Refusals of an uploaded picture and of the upload rate, shared by every use (avatars, product
pictures, review photos).

They live here, not in ``accounts.exceptions``: ``accounts.uploads`` sits below ``accounts``
and the feature apps and imports nothing of ours but the kernel, while
``accounts.exceptions`` builds on these (``InvalidAvatarError``) and on ``accounts.rules``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pointsmall.kernel.errors import DomainError


class ImageRefusedError(DomainError):
    """An upload that is not a picture this use accepts; the apps' own image errors subclass it."""

    code = "image_refused"
    default_message = _("This file is not an image we can use.")


class ImageUnreadableError(ImageRefusedError):
    code = "image_unreadable"


class ImageFileTooLargeError(ImageRefusedError):
    code = "image_file_too_large"
    default_message = _("The picture is too large (%(size)s). Upload one of at most %(limit)s.")


class ImageTooManyPixelsError(ImageRefusedError):
    code = "image_too_many_pixels"
    default_message = _("The picture has too many pixels. Upload one of at most %(limit)s megapixels.")


class ImageTooCostlyError(ImageRefusedError):
    code = "image_too_costly"
    default_message = _(
        "This picture is too large for us to process (%(width)s × %(height)s). "
        "Upload a smaller one, of at most %(limit)s megapixels."
    )


class ImageAnimatedError(ImageRefusedError):
    code = "image_animated"
    default_message = _("Animated pictures can't be used: upload a still picture.")


class UploadRateLimitedError(DomainError):
    code = "upload_rate_limited"
    default_message = _("You have uploaded many pictures in a short time. Try again later.")
    http_status = 429

    def __init__(self, *, minutes: int) -> None:
        self.minutes = minutes
        message = ngettext(
            "You have uploaded many pictures in a short time. Try again in %(minutes)s minute.",
            "You have uploaded many pictures in a short time. Try again in %(minutes)s minutes.",
            minutes,
        )
        super().__init__(message, minutes=minutes)
