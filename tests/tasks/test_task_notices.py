"""The history rows of task rewards are message codes, read in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from points import selectors as points_selectors
from tasks import services
from tasks.enums import TaskEvent
from tests.factories import MemberFactory
from tests.tasks.task_helpers import make_task

pytestmark = pytest.mark.django_db


def descriptions(member, language: str) -> list[str]:
    with translation.override(language):
        return [row.description for row in points_selectors.history(user_id=member.pk).object_list]


def test_a_reward_and_its_claw_back_read_in_the_readers_language():
    member = MemberFactory()
    task = make_task(title="写评价", title_en="Write a review", event=TaskEvent.REVIEW_POSTED)
    services.task_event_record(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="catalog.review:1")
    services.task_claim(user_id=member.pk, task_id=task.pk)
    services.task_event_undo(user_id=member.pk, event=TaskEvent.REVIEW_POSTED, reference="catalog.review:1")

    english = descriptions(member, "en")
    assert english == ["Task reward taken back (its cause was undone): Write a review", "Task: Write a review"]
    chinese = descriptions(member, "zh-hans")
    assert all("写评价" in text and "Write a review" not in text for text in chinese)


def test_an_english_title_left_empty_reads_the_chinese_one():
    member = MemberFactory()
    task = make_task(title="设置支付密码", title_en="")
    services.task_event_record(user_id=member.pk, event=TaskEvent.PIN_SET, reference="accounts.pin")
    services.task_claim(user_id=member.pk, task_id=task.pk)
    assert descriptions(member, "en") == ["Task: 设置支付密码"]
