"""Errors the accounts services raise. Each carries a stable code and a message a member can read.

The base class is ``pointsmall.kernel.errors.DomainError``; the picture and upload-rate refusals
the avatar errors build on are in ``accounts.uploads.exceptions``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.uploads.exceptions import ImageRefusedError
from pointsmall.kernel.errors import DomainError


class InvalidPhoneError(DomainError):
    code = "invalid_phone"
    default_message = _(
        "Enter a mainland China mobile number (11 digits starting with 1) "
        "or an international number: + and 8 to 15 digits."
    )


class InvalidTextError(DomainError):
    code = "invalid_text"
    default_message = _(
        "This text contains hidden control characters (for example one that reverses the text direction). "
        "Please type it again without them."
    )


class UnsafeTextError(InvalidTextError):
    """``accounts.rules.clean_member_text`` refused the text because of ``char`` (shown as InvalidTextError)."""

    code = "unsafe_text"

    def __init__(self, char: str) -> None:
        self.char = char
        super().__init__()


class InvalidEmailError(DomainError):
    code = "invalid_email"
    default_message = _("Enter a valid e-mail address.")


class EmailInUseError(DomainError):
    """Told to a host system, never to a member: another account already has this address."""

    code = "email_in_use"
    http_status = 409
    default_message = _("Another member already uses this e-mail address.")


class PhoneInUseError(DomainError):
    """Told to a host system, never to a member: another account verified this number."""

    code = "phone_in_use"
    http_status = 409
    default_message = _("Another member has already verified this phone number.")


class PhoneNotSetError(DomainError):
    code = "phone_not_set"
    default_message = _("Add a mobile number to your profile first.")


class PhoneAlreadyVerifiedError(DomainError):
    code = "phone_already_verified"
    http_status = 409
    default_message = _("This number is already verified.")


class PhoneCodeTooSoonError(DomainError):
    code = "phone_code_too_soon"
    http_status = 429

    def __init__(self, *, seconds: int) -> None:
        self.seconds = seconds
        message = ngettext(
            "A code was sent a moment ago. You can ask for another one in %(seconds)s second.",
            "A code was sent a moment ago. You can ask for another one in %(seconds)s seconds.",
            seconds,
        )
        super().__init__(message, seconds=seconds)


class PhoneCodeLimitReachedError(DomainError):
    code = "phone_code_limit"
    http_status = 429
    default_message = _("You have asked for %(limit)s codes within 24 hours. Please try again tomorrow.")


class PhoneCodeExpiredError(DomainError):
    code = "phone_code_expired"
    default_message = _("This code has expired or was entered wrong too often. Ask for a new code.")


class PhoneCodeIncorrectError(DomainError):
    code = "phone_code_incorrect"

    def __init__(self, *, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        message = ngettext(
            "This code is not correct. %(attempts_left)s attempt left.",
            "This code is not correct. %(attempts_left)s attempts left.",
            attempts_left,
        )
        super().__init__(message, attempts_left=attempts_left)


class PhoneNotVerifiableError(DomainError):
    """Only the holder of the phone gets here (they had the code): they may learn it is in use."""

    code = "phone_not_verifiable"
    default_message = _(
        "This number is already verified on another account, so it cannot be verified here. "
        "If that account is yours, sign in to it; otherwise contact customer service."
    )


class InvalidAvatarError(ImageRefusedError):
    code = "invalid_avatar"
    default_message = _("This file is not an image we can use. Upload a PNG, JPEG, WebP or GIF picture.")


class AvatarTooLargeError(InvalidAvatarError):
    code = "avatar_too_large"
    default_message = _("The picture is too large (%(size)s). Upload one of at most %(limit)s.")


class AvatarTooManyPixelsError(InvalidAvatarError):
    code = "avatar_too_many_pixels"
    default_message = _(
        "The picture has too many pixels (%(width)s × %(height)s). Upload one of at most %(limit)s megapixels."
    )


class AddressNotFoundError(DomainError):
    code = "address_not_found"
    http_status = 404
    default_message = _("This address does not exist.")


class AddressLimitReachedError(DomainError):
    code = "address_limit_reached"
    default_message = _("You can keep at most %(limit)s addresses. Delete one you no longer use to add another.")


class PinNotSetError(DomainError):
    code = "pin_not_set"
    default_message = _("You have not set a payment PIN yet.")


class PinAlreadySetError(DomainError):
    code = "pin_already_set"
    http_status = 409
    default_message = _("You already have a payment PIN. Change it with your account password.")


class PinInvalidError(DomainError):
    code = "pin_invalid"
    default_message = _("The PIN must be exactly 6 digits.")


class PinTooWeakError(DomainError):
    code = "pin_too_weak"
    default_message = _("This PIN is too easy to guess: avoid one digit six times or a straight run like 123456.")


class PasswordIncorrectError(DomainError):
    code = "password_incorrect"

    def __init__(self, *, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        message = ngettext(
            "Your account password is not correct. %(attempts_left)s attempt left before PIN use is locked.",
            "Your account password is not correct. %(attempts_left)s attempts left before PIN use is locked.",
            attempts_left,
        )
        super().__init__(message, attempts_left=attempts_left)


class PinIncorrectError(DomainError):
    code = "pin_incorrect"

    def __init__(self, *, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        message = ngettext(
            "Wrong PIN. %(attempts_left)s attempt left before PIN use is locked.",
            "Wrong PIN. %(attempts_left)s attempts left before PIN use is locked.",
            attempts_left,
        )
        super().__init__(message, attempts_left=attempts_left)


class PinLockedError(DomainError):
    """Too many wrong attempts: PIN use is locked until ``locked_until`` (``remaining`` from now)."""

    code = "pin_locked"
    http_status = 429

    def __init__(self, *, locked_until: datetime, now: datetime) -> None:
        self.locked_until = locked_until
        self.remaining: timedelta = locked_until - now
        # Imported here: accounts.rules raises UnsafeTextError from this module.
        from accounts.rules import lock_minutes_left

        self.minutes = lock_minutes_left(self.remaining)
        message = ngettext(
            "Too many wrong attempts: PIN use is locked. Try again in %(minutes)s minute.",
            "Too many wrong attempts: PIN use is locked. Try again in %(minutes)s minutes.",
            self.minutes,
        )
        super().__init__(message, minutes=self.minutes)


class NotificationNotFoundError(DomainError):
    code = "notification_not_found"
    http_status = 404
    default_message = _("This message does not exist.")


class InvalidNotificationError(DomainError):
    # Not "invalid_notification": that code is the payment gateway's (catalog.exceptions).
    code = "invalid_inbox_notification"
    http_status = 500
    default_message = _("The message is not valid: %(reason)s")


class InvalidNotificationPreferenceError(DomainError):
    code = "invalid_notification_preference"
    default_message = _("These notification settings cannot be saved: %(reason)s")


class UnsubscribeLinkInvalidError(DomainError):
    code = "unsubscribe_link_invalid"
    default_message = _(
        "This unsubscribe link is not valid or has expired. Sign in and change your notification settings instead."
    )


class InviteCodeUnknownError(DomainError):
    code = "invite_code_unknown"
    default_message = _("This invite code does not exist. Check it with your friend, or leave the field empty.")


class ReferralSelfError(DomainError):
    code = "referral_self"
    default_message = _("You cannot use your own invite code.")


class ReferralAlreadyBoundError(DomainError):
    code = "referral_already_bound"
    http_status = 409
    default_message = _("This member was already invited by someone; an invitation cannot be changed.")


class ReferralNotFoundError(DomainError):
    code = "referral_not_found"
    http_status = 404
    default_message = _("This referral does not exist.")


class ReferralNotHeldError(DomainError):
    code = "referral_not_held"
    default_message = _("Only referrals held for review can be approved (this one: %(status)s).")


class ReferralNotDeniableError(DomainError):
    code = "referral_not_deniable"
    default_message = _("Only pending or held referrals can be denied (this one: %(status)s).")


class TemplateTextError(DomainError):
    """An operator's message template does not compile or does not render (accounts.message_templates).

    Raised with Django's own explanation as the message: the admin form shows it beside the field."""

    code = "message_template_invalid"
    http_status = 400
    default_message = _("The template cannot be used.")


class SmsError(DomainError):
    """The SMS provider refused or failed a message (accounts.sms). Raised with the provider's
    answer as the message, for the delivery's ``last_error``. ``permanent`` is True when sending
    the same message again cannot succeed (Twilio answered 4xx other than 408/429, e.g. 21211
    "invalid To number"): the delivery fails at once; otherwise it counts the attempt and retries."""

    code = "sms_failed"
    http_status = 502
    default_message = _("The text message could not be sent.")

    def __init__(self, message=None, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class AccountDeletedError(DomainError):
    """The account was deleted already (docs/decisions/0052): nothing more is done to it."""

    code = "account_deleted"
    http_status = 409
    default_message = _("This account has already been deleted.")


class DeletionPasswordIncorrectError(DomainError):
    code = "deletion_password_incorrect"
    default_message = _("Your password is not correct. Your account was not deleted.")


class DeletionNotConfirmedError(DomainError):
    code = "deletion_not_confirmed"
    default_message = _("Type your e-mail address exactly as shown to confirm. Your account was not deleted.")


class DeletionNeedsPasswordError(DomainError):
    """A member who never set a password (a host system signs them in) deletes their account
    through that host, which knows who they are."""

    code = "deletion_needs_password"
    http_status = 409
    default_message = _(
        "Your account has no password of its own, so it cannot be deleted here. "
        "Please ask the shop that signed you in to delete it."
    )
