"""``PUT /members/{external_id}``: the host creates, updates or links one of its members."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from pydantic import ConfigDict, StrictBool, StrictStr

from accounts import selectors as accounts_selectors
from pointsmall.integration import services
from pointsmall.integration.api.schemas import responses
from pointsmall.integration.models import Client

router = Router(tags=["members"])

EXTERNAL_ID = services.EXTERNAL_ID_PATTERN.pattern


class MemberIn(Schema):
    """Only the fields sent are changed; a member created without ``email`` has none yet."""

    model_config = ConfigDict(extra="forbid")

    # The address itself is checked by the service (one rule, one code: 422 invalid_email).
    email: StrictStr | None = Field(None, max_length=254, examples=["li.lei@example.com"])
    email_verified: StrictBool = Field(False, description="The host checked that the member receives mail there.")
    phone: StrictStr | None = Field(
        None, max_length=32, description="Mainland mobile (11 digits) or +country number.", examples=["13800138000"]
    )
    phone_verified: StrictBool = Field(False, description="The host checked the member holds this number (SMS code).")
    display_name: StrictStr | None = Field(None, max_length=40, examples=["李雷"])
    language: Literal["zh-hans", "en"] | None = None


class MemberOut(Schema):
    """A value the member does not have (yet) is null, never an empty string."""

    external_id: str
    created: bool
    email: str | None
    phone: str | None
    display_name: str | None
    language: Literal["zh-hans", "en"] | None


@router.put(
    "/members/{external_id}",
    response=responses({200: MemberOut, 201: MemberOut}, 409),
    summary="Create, update or link a member",
)
def member_put(
    request: HttpRequest,
    payload: MemberIn,
    external_id: str = Path(..., pattern=f"^{EXTERNAL_ID}$", max_length=64),
):
    """201 when the member was created, 200 when updated or linked to the mall account that
    already has this (verified) e-mail. 409 ``email_in_use`` / ``phone_in_use``; 422 for values
    the mall refuses (``invalid_email``, ``invalid_phone``, ``invalid_text``). Nothing is written
    on a refusal. Safe to repeat."""
    client: Client = request.auth  # type: ignore[attr-defined]
    user_id, created = services.host_member_put(
        client_id=client.pk, external_id=external_id, fields=payload.model_dump(exclude_unset=True)
    )
    member = accounts_selectors.host_member_view(user_id=user_id)
    return Status(
        201 if created else 200,
        {
            "external_id": external_id,
            "created": created,
            "email": member.email,
            "phone": member.phone,
            "display_name": member.display_name or None,
            "language": member.language or None,
        },
    )
