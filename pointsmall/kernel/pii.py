"""Members' contact data in the back office: masked by default, revealed one record at a time.

Staff see a member's phone number, e-mail address, and shipping address (recipient, phone,
street) masked by the kernel's rules (``masking``) in every admin list, page, search result and
export. A staff member holding ``UNMASK_PERMISSION`` may reveal one record's full data with a
reason; every reveal (and every full export) is announced with ``pii_revealed`` and recorded by
the audit trail (``pointsmall.audit``: the apps may not import it). Docs: decision 0057.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

UNMASK_PERMISSION = "accounts.unmask_pii"

# Full contact data was shown to a staff member. Arguments: actor_id, user_id (whose data),
# target ("app_label.model_name"), object_id (str), fields (list of field names), reason (str).
# Sent inside the request's transaction, before the data is sent back.
pii_revealed = Signal()


def may_unmask(user: Any) -> bool:
    """Active staff holding the unmask permission (superusers hold every permission)."""
    return bool(user.is_active and user.is_staff and user.has_perm(UNMASK_PERMISSION))
