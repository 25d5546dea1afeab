"""The accounts app's public write surface: profile, addresses, payment PIN, notifications inbox."""

from accounts.services.addresses import address_create, address_delete, address_set_default, address_update
from accounts.services.avatars import PreparedAvatar, avatar_prepare
from accounts.services.notifications import notification_mark_read, notification_send, notifications_mark_all_read
from accounts.services.pin import pin_change, pin_set, pin_verify
from accounts.services.profile import profile_update

__all__ = [
    "PreparedAvatar",
    "address_create",
    "address_delete",
    "address_set_default",
    "address_update",
    "avatar_prepare",
    "notification_mark_read",
    "notification_send",
    "notifications_mark_all_read",
    "pin_change",
    "pin_set",
    "pin_verify",
    "profile_update",
]
