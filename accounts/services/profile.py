"""The member's own profile: display name, phone, avatar and language."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction

from accounts import locks, rules, selectors, signals
from accounts.exceptions import InvalidPhoneError, InvalidTextError
from accounts.services.avatars import PreparedAvatar
from pointsmall.kernel.language import is_site_language
from pointsmall.kernel.transactions import after_commit


def _store_avatar(user, avatar: PreparedAvatar) -> list[str]:
    # A random name per upload: old URLs stop working, and nobody can guess another member's picture.
    stem = f"{user.pk}-{secrets.token_hex(8)}"
    user.avatar.save(f"{stem}.{avatar.extension}", ContentFile(avatar.image), save=False)
    user.avatar_thumbnail.save(f"{stem}-160.{avatar.extension}", ContentFile(avatar.thumbnail), save=False)
    return [user.avatar.name, user.avatar_thumbnail.name]


def _delete_files(storage, names: list[str]) -> None:
    for name in names:
        if name:
            storage.delete(name)


@transaction.atomic
def profile_update(
    *,
    user_id: int,
    display_name: str,
    phone: str | None,
    language: str,
    avatar: PreparedAvatar | None = None,
) -> None:
    """Save the member's profile; a new avatar (from ``avatar_prepare``) replaces the old files.

    ``display_name`` is cleaned by ``rules.clean_member_text``. ``phone`` may be given in any
    format ``rules.normalize_phone`` accepts (None or "" clears it). A number is not checked
    against other members' (that would tell anyone who uses it): a new number is saved
    unverified, and only verifying it (services.phone) makes it count. Raises InvalidTextError,
    InvalidPhoneError. Locks the user row. Safe to call twice: the fields end the same, and each
    call with an avatar stores a fresh copy and deletes the one it replaces once the
    transaction commits.
    """
    try:
        name = rules.clean_member_text(display_name)
    except rules.UnsafeTextError:
        raise InvalidTextError() from None
    normalized = None
    if phone:
        normalized = rules.normalize_phone(phone)
        if normalized is None:
            raise InvalidPhoneError()
    user = locks.member_row_for_update(user_id=user_id)
    was_complete = _complete(user)
    if normalized != user.phone:
        user.phone_verified_at = None
    user.display_name = name
    user.phone = normalized
    user.language = language
    fields = ["display_name", "phone", "phone_verified_at", "language"]
    storage = user.avatar.storage
    replaced: list[str] = []
    stored: list[str] = []
    if avatar is not None:
        replaced = [user.avatar.name, user.avatar_thumbnail.name]
        stored = _store_avatar(user, avatar)
        fields += ["avatar", "avatar_thumbnail"]
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except BaseException:
        _delete_files(storage, stored)
        raise
    if replaced:
        after_commit(lambda: _delete_files(storage, replaced))
    if not was_complete and _complete(user):
        signals.profile_completed.send(sender=type(user), user_id=user_id, reference="accounts.profile")


def _complete(user) -> bool:
    return selectors.profile_is_complete(
        display_name=user.display_name,
        avatar=user.avatar.name,
        phone=user.phone,
        phone_verified_at=user.phone_verified_at,
    )


@transaction.atomic
def profile_language_set(*, user_id: int, language: str) -> bool:
    """Make ``language`` (one of settings.LANGUAGES) the member's language on every device.

    Returns whether it changed; an unknown language changes nothing. Locks nothing (one
    guarded UPDATE). Safe to call twice.
    """
    if not is_site_language(language):
        return False
    return bool(get_user_model().objects.filter(pk=user_id).exclude(language=language).update(language=language))
