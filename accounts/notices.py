"""What the accounts app tells members: inbox messages and history texts, one renderer per code.

Two halves, one per direction. Composing: one public function per notice (``referral_held``,
``tier_warning``…) builds the code and parameters to store, as a ``points.notices.Notice``
that services pass on unread (``notification_send(**notice.message)``,
``points_award(**notice.memo)``). Rendering: the ``@register``-ed functions turn a stored
code and parameters into text in the reader's language when the inbox or history is read
(points.notices, docs/decisions/0019). Dates are stored as ISO strings, names of tiers as
``{"zh": …, "en": …}``. The SMS text of a phone code is composed here too (sent, not stored).
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from points import features as points_features
from points.notices import Notice, Params, Text, day, localized, register, render_nested
from pointsmall.kernel import clock
from pointsmall.kernel.language import tier_discount_text

# History texts (ledger entries) of referral rewards.
REFERRAL_SIGNUP_MEMO = "accounts.referral_signup"
REFERRAL_FIRST_ORDER_MEMO = "accounts.referral_first_order"
REFERRAL_HELD_MEMO = "accounts.referral_held"
REFERRAL_FIRST_ORDER_REFUNDED_MEMO = "accounts.referral_first_order_refunded"

# Inbox messages.
EXPIRY_REMINDER = "accounts.expiry_reminder"
TIER_UPGRADED = "accounts.tier_upgraded"
TIER_DOWNGRADED = "accounts.tier_downgraded"
TIER_WARNING = "accounts.tier_warning"
POINTS_EARNED = "accounts.points_earned"
SIGNUP_BONUS = "accounts.signup_bonus"
SIGNUP_BONUS_REFUSED = "accounts.signup_bonus_refused"
REFERRAL_HELD = "accounts.referral_held_notice"
REFERRAL_MONTHLY_CAP = "accounts.referral_monthly_cap"
REFERRAL_SIGNUP_REWARD = "accounts.referral_signup_reward"
REFERRAL_SIGNUP_NO_REWARD = "accounts.referral_signup_no_reward"
REFERRAL_FIRST_ORDER_REWARD = "accounts.referral_first_order_reward"
REFERRAL_FIRST_ORDER_NO_REWARD = "accounts.referral_first_order_no_reward"
REFERRAL_FIRST_ORDER_WITHDRAWN = "accounts.referral_first_order_withdrawn"
REFERRAL_APPROVED = "accounts.referral_approved"
REFERRAL_DENIED = "accounts.referral_denied"
REFERRAL_KNOWN_EMAIL = "accounts.referral_known_email"
REFERRAL_SELF = "accounts.referral_self"
ACCOUNT_FROZEN = "accounts.account_frozen"
ACCOUNT_UNFROZEN = "accounts.account_unfrozen"
PIN_LOCKED = "accounts.pin_locked"


# --- History texts ------------------------------------------------------------------------


@register(REFERRAL_SIGNUP_MEMO)
def _referral_signup_memo(params: Params) -> str:
    return _("Friend joined: %(friend)s") % {"friend": params["friend"]}


@register(REFERRAL_FIRST_ORDER_MEMO)
def _referral_first_order_memo(params: Params) -> str:
    return _("Friend's first order: %(friend)s") % {"friend": params["friend"]}


@register(REFERRAL_HELD_MEMO)
def _referral_held_memo(params: Params) -> str:
    return _("Invitation held for review")


@register(REFERRAL_FIRST_ORDER_REFUNDED_MEMO)
def _referral_first_order_refunded_memo(params: Params) -> str:
    return _("Friend's first order was refunded")


# --- Points ---------------------------------------------------------------------------------


@register(EXPIRY_REMINDER, inbox=True, sample={"dates": [["2026-12-31", 120]], "points": 120})
def _expiry_reminder(params: Params) -> Text:
    """``dates``: [[ISO date, points], …] in date order, each the points that expire at the end
    of that day; ``points``: their total."""
    dates = [(day(when), int(points)) for when, points in params["dates"]]
    total = int(params["points"])
    if len(dates) == 1:
        ((when, _points),) = dates
        title = ngettext("%(points)s point expires on %(date)s", "%(points)s points expire on %(date)s", total) % {
            "points": total,
            "date": when,
        }
        body = ngettext(
            "Spend it by the end of %(date)s, or it expires. Your points page lists what expires when.",
            "Spend them by the end of %(date)s, or they expire. Your points page lists what expires when.",
            total,
        ) % {"date": when}
        return Text(title, body)
    title = ngettext(
        "%(points)s point expires between %(first)s and %(last)s",
        "%(points)s points expire between %(first)s and %(last)s",
        total,
    ) % {"points": total, "first": dates[0][0], "last": dates[-1][0]}
    lines = [
        ngettext("%(date)s: %(points)s point", "%(date)s: %(points)s points", points) % {"date": when, "points": points}
        for when, points in dates
    ]
    body = "\n".join(
        [*lines, _("Spend them by the end of each day, or they expire. Your points page lists what expires when.")]
    )
    return Text(title, body)


@register(
    TIER_UPGRADED,
    inbox=True,
    sample={"tier": {"zh": "金卡", "en": "Gold"}, "percent": 90, "multiplier": "1.5", "draws": 1},
)
def _tier_upgraded(params: Params) -> Text:
    draws = int(params["draws"])
    # The member price as members read it, in the reader's language: 8.5折 / 15% off (0058).
    percent = int(params["percent"])
    values = {"discount": tier_discount_text(percent), "multiplier": params["multiplier"], "draws": draws}
    with_draws = bool(draws) and points_features.feature_live(points_features.LOTTERY)
    # No prize draws until the lottery exists: the notice promises only what the mall gives
    # (decided when it is read, so the draws appear once the lottery is live).
    if percent < 100 and with_draws:
        body = ngettext(
            "Your benefits: %(discount)s the points price, earn points ×%(multiplier)s "
            "and draw %(draws)s free prize a month.",
            "Your benefits: %(discount)s the points price, earn points ×%(multiplier)s "
            "and draw %(draws)s free prizes a month.",
            draws,
        )
    elif percent < 100:
        body = _("Your benefits: %(discount)s the points price and earn points ×%(multiplier)s.")
    elif with_draws:
        body = ngettext(
            "Your benefits: earn points ×%(multiplier)s and draw %(draws)s free prize a month.",
            "Your benefits: earn points ×%(multiplier)s and draw %(draws)s free prizes a month.",
            draws,
        )
    else:
        body = _("Your benefits: earn points ×%(multiplier)s.")
    return Text(_("Congratulations, you are now %(tier)s") % {"tier": localized(params["tier"])}, body % values)


@register(TIER_DOWNGRADED, inbox=True, sample={"tier": {"zh": "银卡", "en": "Silver"}})
def _tier_downgraded(params: Params) -> Text:
    return Text(
        _("Your tier is now %(tier)s") % {"tier": localized(params["tier"])},
        _(
            "Tiers follow the points you earned over the last months. Your tier page shows what it takes "
            "to move up again."
        ),
    )


@register(TIER_WARNING, inbox=True, sample={"points": 200, "date": "2026-12-31", "tier": {"zh": "金卡", "en": "Gold"}})
def _tier_warning(params: Params) -> Text:
    points = int(params["points"])
    return Text(
        ngettext(
            "Earn %(points)s more point by %(date)s to keep %(tier)s",
            "Earn %(points)s more points by %(date)s to keep %(tier)s",
            points,
        )
        % {"points": points, "date": day(params["date"]), "tier": localized(params["tier"])},
        _("Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending."),
    )


@register(
    POINTS_EARNED,
    inbox=True,
    sample={"points": 50, "what": {"code": "points.purchase", "params": {"order": "1024"}}, "available_on": ""},
)
def _points_earned(params: Params) -> Text:
    """``points`` credited in one go; ``what``: the entry's history text (nested, may be empty);
    ``available_on``: the ISO date they vest, "" when they can be spent now."""
    points = int(params["points"])
    title = ngettext("You earned %(points)s point", "You earned %(points)s points", points) % {"points": points}
    what = render_nested(params["what"])
    lines = [_("For: %(what)s") % {"what": what}] if what else []
    if params["available_on"]:
        lines.append(
            _("They are pending until %(date)s, then you can spend them.") % {"date": day(params["available_on"])}
        )
    else:
        lines.append(_("They are in your balance now. Spend them in the mall."))
    return Text(title, "\n".join(lines))


@register(SIGNUP_BONUS, inbox=True, sample={"points": 100})
def _signup_bonus(params: Params) -> Text:
    points = int(params["points"])
    return Text(
        ngettext("Welcome! %(points)s point was added", "Welcome! %(points)s points were added", points)
        % {"points": points},
        _(
            "Thank you for confirming your e-mail address. Spend your points in the mall, "
            "or read the points rules for more ways to earn."
        ),
    )


@register(SIGNUP_BONUS_REFUSED, inbox=True, sample={"reason": {"code": "points.signup_already_given", "params": {}}})
def _signup_bonus_refused(params: Params) -> Text:
    return Text(_("About your sign-up bonus"), render_nested(params["reason"]))


# --- Referrals ------------------------------------------------------------------------------


def _joined(friend: str) -> str:
    return _("Your friend %(friend)s joined") % {"friend": friend}


@register(REFERRAL_HELD, inbox=True, sample={"friend": "Li Lei"})
def _referral_held(params: Params) -> Text:
    return Text(
        _("Your invitation of %(friend)s is being reviewed") % {"friend": params["friend"]},
        _(
            "Several sign-ups came from the same place within a short time, so we check them before "
            "paying invitation rewards. You will get a message when the review is done."
        ),
    )


@register(REFERRAL_MONTHLY_CAP, inbox=True, sample={"friend": "Li Lei", "cap": 10})
def _referral_monthly_cap(params: Params) -> Text:
    cap = int(params["cap"])
    return Text(
        _joined(params["friend"]),
        ngettext(
            "You have reached this month's limit of %(cap)s rewarded invitation, so this one earns no "
            "points. The limit starts again on the 1st of next month.",
            "You have reached this month's limit of %(cap)s rewarded invitations, so this one earns no "
            "points. The limit starts again on the 1st of next month.",
            cap,
        )
        % {"cap": cap},
    )


@register(REFERRAL_SIGNUP_REWARD, inbox=True, sample={"friend": "Li Lei", "points": 50, "available_at": None})
def _referral_signup_reward(params: Params) -> Text:
    """``available_at``: ISO date-time when the points stop being pending, or None (available now)."""
    points = int(params["points"])
    title = ngettext(
        "Your friend %(friend)s joined: %(points)s point for you",
        "Your friend %(friend)s joined: %(points)s points for you",
        points,
    ) % {"friend": params["friend"], "points": points}
    if params.get("available_at"):
        local = datetime.fromisoformat(params["available_at"]).astimezone(clock.business_zone())
        body = ngettext(
            "It becomes available at %(time)s, after a routine check of recent sign-ups. "
            "Their first purchase earns you a further reward.",
            "They become available at %(time)s, after a routine check of recent sign-ups. "
            "Their first purchase earns you a further reward.",
            points,
        ) % {"time": local.strftime("%H:%M")}
    else:
        body = _("Thank you for inviting them. Their first purchase earns you a further reward.")
    return Text(title, body)


@register(
    REFERRAL_SIGNUP_NO_REWARD,
    inbox=True,
    sample={"friend": "Li Lei", "reason": {"code": "points.award_none", "params": {"source": "referral_signup"}}},
)
def _referral_signup_no_reward(params: Params) -> Text:
    return Text(_joined(params["friend"]), render_nested(params["reason"]))


@register(ACCOUNT_FROZEN, inbox=True, sample={"reason": "Many check-ins from one network"})
def _account_frozen(params: Params) -> Text:
    """``reason``: the operator's words, shown as written (not translated)."""
    return Text(
        _("Your points account is frozen"),
        _(
            "You cannot earn or spend points until it is unfrozen. If you think this is a mistake, "
            "please contact support. Reason: %(reason)s"
        )
        % {"reason": params["reason"]},
    )


@register(ACCOUNT_UNFROZEN, inbox=True, sample={})
def _account_unfrozen(params: Params) -> Text:
    return Text(
        _("Your points account is unfrozen"),
        _("You can earn and spend points again."),
    )


@register(PIN_LOCKED, inbox=True, sample={"attempts": 5, "locked_until": "2026-03-01T08:15:00+00:00"})
def _pin_locked(params: Params) -> Text:
    """``attempts``: wrong PINs in a row; ``locked_until``: ISO date-time when PIN use unlocks."""
    local = datetime.fromisoformat(params["locked_until"]).astimezone(clock.business_zone())
    attempts = int(params["attempts"])
    return Text(
        _("Your payment PIN is locked"),
        ngettext(
            "A wrong payment PIN was entered %(attempts)s time in a row, so redeeming with it is locked "
            "until %(time)s. If this was not you, change your password and your payment PIN now.",
            "A wrong payment PIN was entered %(attempts)s times in a row, so redeeming with it is locked "
            "until %(time)s. If this was not you, change your password and your payment PIN now.",
            attempts,
        )
        % {"attempts": attempts, "time": local.strftime("%Y-%m-%d %H:%M")},
    )


@register(REFERRAL_SELF, inbox=True, sample={"friend": "Li Lei"})
def _referral_self(params: Params) -> Text:
    return Text(
        _joined(params["friend"]),
        _("This account has your own e-mail address or phone number, so this invitation earns no points."),
    )


@register(
    REFERRAL_FIRST_ORDER_REWARD, inbox=True, sample={"friend": "Li Lei", "points": 200, "available_on": "2026-12-31"}
)
def _referral_first_order_reward(params: Params) -> Text:
    """``available_on``: ISO date the points become available, or None (available now)."""
    points = int(params["points"])
    title = _("%(friend)s made a first purchase") % {"friend": params["friend"]}
    if params.get("available_on"):
        body = ngettext(
            "%(points)s point for you, available from %(date)s, once your friend's returns window is over.",
            "%(points)s points for you, available from %(date)s, once your friend's returns window is over.",
            points,
        ) % {"points": points, "date": day(params["available_on"])}
    else:
        body = ngettext(
            "%(points)s point for you, available now.", "%(points)s points for you, available now.", points
        ) % {"points": points}
    return Text(title, body)


@register(
    REFERRAL_FIRST_ORDER_NO_REWARD,
    inbox=True,
    sample={"friend": "Li Lei", "reason": {"code": "points.award_none", "params": {"source": "referral_first_order"}}},
)
def _referral_first_order_no_reward(params: Params) -> Text:
    return Text(_("%(friend)s made a first purchase") % {"friend": params["friend"]}, render_nested(params["reason"]))


@register(REFERRAL_FIRST_ORDER_WITHDRAWN, inbox=True, sample={"friend": "Li Lei", "points": 200, "pending": True})
def _referral_first_order_withdrawn(params: Params) -> Text:
    points = int(params["points"])
    # Rows written before rewards were also taken back once available have no "pending": they were.
    if params.get("pending", True):
        body = ngettext(
            "Your friend's first order was cancelled or refunded, so its %(points)s pending point will not be added.",
            "Your friend's first order was cancelled or refunded, so its %(points)s pending points will not be added.",
            points,
        )
    else:
        body = ngettext(
            "Your friend's first order was cancelled or refunded, so the %(points)s point it earned "
            "you was taken back.",
            "Your friend's first order was cancelled or refunded, so the %(points)s points it earned "
            "you were taken back.",
            points,
        )
    return Text(
        _("The first-order reward for %(friend)s was cancelled") % {"friend": params["friend"]},
        body % {"points": points},
    )


@register(REFERRAL_APPROVED, inbox=True, sample={"friend": "Li Lei"})
def _referral_approved(params: Params) -> Text:
    return Text(
        _("Your invitation of %(friend)s was approved") % {"friend": params["friend"]},
        _("You get your reward as soon as your friend confirms their e-mail address."),
    )


@register(REFERRAL_DENIED, inbox=True, sample={"friend": "Li Lei"})
def _referral_denied(params: Params) -> Text:
    return Text(
        _("Your invitation of %(friend)s earns no rewards") % {"friend": params["friend"]},
        _("After a review, this invitation does not qualify for rewards. Your friend's account is not affected."),
    )


@register(REFERRAL_KNOWN_EMAIL, inbox=True, sample={"friend": "Li Lei"})
def _referral_known_email(params: Params) -> Text:
    return Text(
        _joined(params["friend"]), _("This e-mail address was invited before, so this invitation earns no points.")
    )


# --- Composing: one function per notice -----------------------------------------------------
# ``friend`` is the invited friend's masked e-mail (pointsmall.kernel.masking.mask_email); ``tier`` a
# tier's names in both languages (points.notices.bilingual); ``reason`` a nested text
# (points.notices.nested: why an earning paid less).


def referral_signup_memo(*, friend: str) -> Notice:
    """History text of the inviter's reward for a friend who joined."""
    return Notice(REFERRAL_SIGNUP_MEMO, {"friend": friend})


def referral_first_order_memo(*, friend: str) -> Notice:
    """History text of the inviter's reward for a friend's first order."""
    return Notice(REFERRAL_FIRST_ORDER_MEMO, {"friend": friend})


def referral_held_memo() -> Notice:
    """History text of a pending reward cancelled because its invitation is held for review."""
    return Notice(REFERRAL_HELD_MEMO)


def referral_first_order_refunded_memo() -> Notice:
    """History text of a first-order reward taken back with its order."""
    return Notice(REFERRAL_FIRST_ORDER_REFUNDED_MEMO)


def expiry_reminder(*, points: int, dates: list[tuple[date, int]]) -> Notice:
    """Inbox: ``points`` expire, ``dates`` the (last valid day, points) pairs in date order."""
    return Notice(EXPIRY_REMINDER, {"points": points, "dates": [[when.isoformat(), amount] for when, amount in dates]})


def tier_upgraded(*, tier: dict, percent: int, multiplier: str, draws: int) -> Notice:
    """Inbox: the member moved up to ``tier``, with its benefits at the time."""
    return Notice(TIER_UPGRADED, {"tier": tier, "percent": percent, "multiplier": multiplier, "draws": draws})


def tier_downgraded(*, tier: dict) -> Notice:
    """Inbox: the member's tier is now ``tier``."""
    return Notice(TIER_DOWNGRADED, {"tier": tier})


def tier_warning(*, points: int, deadline: date, tier: dict) -> Notice:
    """Inbox: earn ``points`` more by ``deadline`` to keep ``tier``."""
    return Notice(TIER_WARNING, {"points": points, "date": deadline.isoformat(), "tier": tier})


def points_earned(*, points: int, what: dict, available_on: date | None) -> Notice:
    """Inbox: ``points`` were credited in one earning (``what``: its history text, as
    ``points.notices.nested``); ``available_on``: the day pending points vest, None if spendable now."""
    return Notice(
        POINTS_EARNED,
        {"points": points, "what": what, "available_on": available_on.isoformat() if available_on else ""},
    )


def signup_bonus(*, points: int) -> Notice:
    """Inbox: the sign-up bonus of ``points`` was added."""
    return Notice(SIGNUP_BONUS, {"points": points})


def signup_bonus_refused(*, reason: dict) -> Notice:
    """Inbox: no sign-up bonus, and why."""
    return Notice(SIGNUP_BONUS_REFUSED, {"reason": reason})


def referral_held(*, friend: str) -> Notice:
    """Inbox: the invitation of ``friend`` is held for review."""
    return Notice(REFERRAL_HELD, {"friend": friend})


def referral_monthly_cap(*, friend: str, cap: int) -> Notice:
    """Inbox: ``friend`` joined, but this month's ``cap`` of rewarded invitations is reached."""
    return Notice(REFERRAL_MONTHLY_CAP, {"friend": friend, "cap": cap})


def referral_signup_reward(*, friend: str, points: int, available_at: datetime | None) -> Notice:
    """Inbox: ``friend`` joined and earned the inviter ``points``, pending until ``available_at`` (or available now)."""
    return Notice(
        REFERRAL_SIGNUP_REWARD,
        {"friend": friend, "points": points, "available_at": available_at.isoformat() if available_at else None},
    )


def referral_signup_no_reward(*, friend: str, reason: dict | None) -> Notice:
    """Inbox: ``friend`` joined but earned the inviter nothing, and why."""
    return Notice(REFERRAL_SIGNUP_NO_REWARD, {"friend": friend, "reason": reason})


def referral_first_order_reward(*, friend: str, points: int, available_on: date | None) -> Notice:
    """Inbox: ``friend``'s first order earned the inviter ``points``, available from ``available_on`` (or now)."""
    return Notice(
        REFERRAL_FIRST_ORDER_REWARD,
        {"friend": friend, "points": points, "available_on": available_on.isoformat() if available_on else None},
    )


def referral_first_order_no_reward(*, friend: str, reason: dict | None) -> Notice:
    """Inbox: ``friend``'s first order earned the inviter nothing, and why."""
    return Notice(REFERRAL_FIRST_ORDER_NO_REWARD, {"friend": friend, "reason": reason})


def referral_first_order_withdrawn(*, friend: str, points: int, pending: bool) -> Notice:
    """Inbox: the first-order reward for ``friend`` was cancelled (``pending``) or taken back."""
    return Notice(REFERRAL_FIRST_ORDER_WITHDRAWN, {"friend": friend, "points": points, "pending": pending})


def referral_approved(*, friend: str) -> Notice:
    """Inbox: an operator approved the held invitation of ``friend``."""
    return Notice(REFERRAL_APPROVED, {"friend": friend})


def referral_denied(*, friend: str) -> Notice:
    """Inbox: an operator denied the invitation of ``friend``."""
    return Notice(REFERRAL_DENIED, {"friend": friend})


def referral_known_email(*, friend: str) -> Notice:
    """Inbox: ``friend``'s address was invited before, so no reward."""
    return Notice(REFERRAL_KNOWN_EMAIL, {"friend": friend})


def referral_self(*, friend: str) -> Notice:
    """Inbox: the friend's account is the inviter's own, so no reward."""
    return Notice(REFERRAL_SELF, {"friend": friend})


def phone_code_sms(*, code: str, minutes: int, language: str) -> str:
    """The SMS that carries a phone verification ``code`` valid for ``minutes``, in ``language``."""
    with translation.override(language):
        return ngettext(
            "Your Points Mall verification code is %(code)s. It expires in %(minutes)s minute. "
            "Never share it with anyone.",
            "Your Points Mall verification code is %(code)s. It expires in %(minutes)s minutes. "
            "Never share it with anyone.",
            minutes,
        ) % {"code": code, "minutes": minutes}


def account_frozen(*, reason: str) -> Notice:
    """Inbox: an operator froze the member's points account, for ``reason`` (their words)."""
    return Notice(ACCOUNT_FROZEN, {"reason": reason})


def account_unfrozen() -> Notice:
    """Inbox: the member's points account is unfrozen."""
    return Notice(ACCOUNT_UNFROZEN, {})


def pin_locked(*, attempts: int, locked_until: datetime) -> Notice:
    """Inbox and e-mail (security): ``attempts`` wrong PINs in a row locked PIN use until ``locked_until``."""
    return Notice(PIN_LOCKED, {"attempts": attempts, "locked_until": locked_until.isoformat()})
