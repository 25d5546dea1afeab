"""Operators set the leaderboard up in the admin: prize bands that don't overlap, exclusions with who added them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import selectors as accounts_selectors
from tasks.admin.leaderboard import LeaderboardPrizeForm
from tasks.models import LeaderboardExclusion, LeaderboardPolicy, LeaderboardPrize
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    staff = StaffFactory()
    client.force_login(staff)
    return staff


def test_a_prize_band_overlapping_another_is_refused_and_nothing_written(operator, client):
    LeaderboardPrize.objects.create(rank_from=2, rank_to=5, points=100)

    response = client.post(reverse("admin:tasks_leaderboardprize_add"), {"rank_from": 5, "rank_to": 9, "points": 10})

    assert response.status_code == 200
    assert "Ranks 2 to 5 already have a prize: bands must not overlap." in response.content.decode()
    assert list(LeaderboardPrize.objects.values_list("rank_from", "rank_to", "points")) == [(2, 5, 100)]


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (
            {"rank_from": 4, "rank_to": 3, "points": 10},
            "The first rank must be at least 1 and not after the last rank.",
        ),
        ({"rank_from": 0, "rank_to": 3, "points": 10}, "Ensure this value is greater than or equal to 1."),
        ({"rank_from": 1, "rank_to": 3, "points": 0}, "Ensure this value is greater than or equal to 1."),
    ],
)
def test_bad_bands_are_refused(db, values, error):
    form = LeaderboardPrizeForm(data=values)
    assert not form.is_valid()
    assert error in str(form.errors)
    assert not LeaderboardPrize.objects.exists()


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (
            {"rank_from": 5, "rank_to": 4, "points": 10},
            "The first rank must be at least 1 and not after the last rank.",
        ),
        ({"rank_from": 0, "rank_to": 4, "points": 10}, "Ensure this value is greater than or equal to 1."),
        ({"rank_from": 5, "rank_to": 6, "points": 0}, "Ensure this value is greater than or equal to 1."),
        ({"rank_from": 1, "rank_to": 1001, "points": 10}, "Ensure this value is less than or equal to 1000."),
    ],
)
def test_a_bad_band_shows_one_error_in_the_admin_and_writes_nothing(operator, client, values, error):
    LeaderboardPrize.objects.create(rank_from=1, rank_to=1, points=500)

    response = client.post(reverse("admin:tasks_leaderboardprize_add"), values)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [str(message) for field in errors.values() for e in field for message in e.messages] == [error]
    assert list(LeaderboardPrize.objects.values_list("rank_from", "rank_to", "points")) == [(1, 1, 500)]


def test_a_band_may_be_edited_in_place_and_adjacent_bands_are_fine(db):
    band = LeaderboardPrize.objects.create(rank_from=1, rank_to=1, points=500)
    assert LeaderboardPrizeForm(data={"rank_from": 1, "rank_to": 2, "points": 400}, instance=band).is_valid()
    assert LeaderboardPrizeForm(data={"rank_from": 2, "rank_to": 3, "points": 100}).is_valid()


def test_an_exclusion_records_who_added_it(operator, client):
    member = MemberFactory()
    response = client.post(
        reverse("admin:tasks_leaderboardexclusion_add"), {"member": member.pk, "reason": "Farming points"}
    )
    assert response.status_code == 302
    assert list(LeaderboardExclusion.objects.values_list("member", "reason", "created_by")) == [
        (member.pk, "Farming points", operator.pk)
    ]


def test_the_policy_is_added_once_then_only_edited(operator, client):
    add = reverse("admin:tasks_leaderboardpolicy_add")
    response = client.post(add, {"size": 20, "exclude_staff": "on", "monthly_rewards": "on"})
    assert response.status_code == 302
    assert list(LeaderboardPolicy.objects.values_list("pk", "size", "exclude_staff", "monthly_rewards")) == [
        (1, 20, True, True)
    ]
    assert client.get(add).status_code == 403


def test_display_names_never_show_an_e_mail_domain(db):
    named = MemberFactory(display_name="  张三  ")
    plain = MemberFactory(email="bob.smith@example.com")
    assert accounts_selectors.display_names(user_ids=[named.pk, plain.pk, 999_999]) == {
        named.pk: "张三",
        plain.pk: "bob.smith",
    }
