"""Where members' feedback screenshots are kept: outside MEDIA_ROOT, with no public URL.

A screenshot can show a member's balance, address or phone number, so it is never served by the
web server's ``/media/``; ``views.feedback_screenshot`` streams it to the member who sent it and to
staff allowed to view feedback (decision 0030)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """``settings.PRIVATE_MEDIA_ROOT``, read when first used (tests point it at a temporary
    folder). ``url()`` refuses: a private file has no address of its own."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @cached_property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)
        elif setting != "MEDIA_ROOT":  # MEDIA_ROOT is not ours
            super()._clear_cached_properties(setting, **kwargs)

    def url(self, name: str | None) -> str:
        raise ValueError("a private file has no public URL: link to the view that checks who asks")


_private = PrivateStorage()


def private_storage() -> PrivateStorage:
    """The storage of feedback screenshots (a callable, so migrations name it rather than a path)."""
    return _private
