"""Tasks in a real browser: completing the profile completes its task, and claiming it pays the
reward once (issue #10's e2e). The member's phone is already verified; the browser adds the
last two pieces the profile asks for, a display name and an avatar, through the profile form.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from points import selectors as points_selectors
from points import services as points_services
from tasks import services as tasks_services
from tasks.enums import TaskEvent
from tasks.exceptions import TaskTransitionError
from tasks.models import Task, TaskCompletion, TaskKind
from tests.accounts.images import image_bytes
from tests.factories import PASSWORD, MemberFactory


def test_complete_the_profile_then_claim_its_task(page, login, shot, transactional_db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = MemberFactory(display_name="", phone="13800138000", phone_verified_at=timezone.now())
    points_services.points_earn(user_id=member.pk, amount=100, idempotency_key="e2e-task-fund")
    task = Task.objects.create(
        title="完善个人资料",
        title_en="Complete your profile",
        reward_points=30,
        kind=TaskKind.ONE_OFF,
        completion=TaskCompletion.EVENT,
        event=TaskEvent.PROFILE_COMPLETED,
    )
    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(image_bytes())
    login(page, member.email, PASSWORD)

    page.goto("/tasks/")
    card = page.get_by_test_id(f"task-{task.pk}")
    expect(card).to_have_attribute("data-status", "available")
    shot(page, "before")

    page.goto("/me/profile/")
    page.locator("input[name=display_name]").fill("小明 Ming")
    page.locator("input[name=avatar]").set_input_files(str(avatar))
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_load_state()
    expect(page.locator("input[name=display_name]")).to_have_value("小明 Ming")

    page.goto("/tasks/")
    expect(card).to_have_attribute("data-status", "completed")
    card.get_by_role("button", name="Claim").click()
    expect(card).to_have_attribute("data-status", "claimed")
    expect(card).to_contain_text("+30 earned")
    expect(page.get_by_test_id("header-points")).to_contain_text("130")
    shot(page, "claimed")

    # Claiming again (a replayed POST) is refused and pays nothing more.
    with pytest.raises(TaskTransitionError):
        tasks_services.task_claim(user_id=member.pk, task_id=task.pk)
    assert points_selectors.spendable_balance(user_id=member.pk) == 130
    assert points_services.points_verify().ok
