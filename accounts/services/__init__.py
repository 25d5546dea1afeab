"""The accounts app's public write surface: profile, addresses, payment PIN, notifications inbox,
the sign-up bonus, invite codes and referrals, members a host system manages."""

from accounts.services.addresses import address_create, address_delete, address_set_default, address_update
from accounts.services.avatars import PreparedAvatar, avatar_prepare
from accounts.services.delivery import (
    deliveries_resend,
    deliveries_send_due,
    delivery_send,
    notification_preferences_set,
    notification_unsubscribe,
    unsubscribe_token,
    unsubscribe_token_read,
)
from accounts.services.erasure import member_erase, tombstone_email
from accounts.services.fraud import member_device_record, redeem_cancel_check
from accounts.services.freeze import account_freeze, account_unfreeze, risk_flags_resolve
from accounts.services.host_members import host_member_create, host_member_email_clean, host_member_update
from accounts.services.notifications import (
    notification_mark_read,
    notification_send,
    notifications_mark_all_read,
    notifications_send_bulk,
)
from accounts.services.phone import PhoneCodeSent, phone_code_confirm, phone_code_send
from accounts.services.pin import pin_change, pin_set, pin_verify
from accounts.services.profile import profile_language_set, profile_update
from accounts.services.referrals import (
    invite_code_ensure,
    referral_approve,
    referral_bind,
    referral_confirm,
    referral_deny,
    referral_first_order_record,
    referral_first_order_withdraw,
    referral_hold,
    referral_rewards_pay_due,
)
from accounts.services.risk import risk_flag_raise
from accounts.services.signup import signup_bonus_claim, signup_bonus_exemption_register

__all__ = [
    "PhoneCodeSent",
    "PreparedAvatar",
    "account_freeze",
    "account_unfreeze",
    "address_create",
    "address_delete",
    "address_set_default",
    "address_update",
    "avatar_prepare",
    "deliveries_resend",
    "deliveries_send_due",
    "delivery_send",
    "host_member_create",
    "host_member_email_clean",
    "host_member_update",
    "invite_code_ensure",
    "member_device_record",
    "member_erase",
    "notification_mark_read",
    "notification_preferences_set",
    "notification_send",
    "notification_unsubscribe",
    "notifications_mark_all_read",
    "notifications_send_bulk",
    "phone_code_confirm",
    "phone_code_send",
    "pin_change",
    "pin_set",
    "pin_verify",
    "profile_language_set",
    "profile_update",
    "redeem_cancel_check",
    "referral_approve",
    "referral_bind",
    "referral_confirm",
    "referral_deny",
    "referral_first_order_record",
    "referral_first_order_withdraw",
    "referral_hold",
    "referral_rewards_pay_due",
    "risk_flag_raise",
    "risk_flags_resolve",
    "signup_bonus_claim",
    "signup_bonus_exemption_register",
    "tombstone_email",
    "unsubscribe_token",
    "unsubscribe_token_read",
]
