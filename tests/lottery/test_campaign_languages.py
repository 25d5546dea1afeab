"""Issue #17: what operators write for members (campaign and prize names, the rules, banners) is
entered in both languages and shown in the reader's; an English left blank falls back to the
Chinese (pointsmall.kernel.language.pick_language, docs/decisions/0061)."""

from __future__ import annotations

import time_machine
from django.urls import reverse

from tests.lottery.core_helpers import T0, make_campaign


def page(client, url: str, language: str) -> str:
    with time_machine.travel(T0, tick=False):
        return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_campaign_page_and_list_are_in_the_readers_language(client, member):
    campaign = make_campaign(description="每次 10 积分。", description_en="10 points a draw.")
    client.force_login(member)
    for language, shown, hidden in [
        ("en", ["Lucky wheel", "10 points a draw.", "100 points"], ["幸运转盘", "每次 10 积分。", "一百积分"]),
        ("zh-hans", ["幸运转盘", "每次 10 积分。", "一百积分"], ["Lucky wheel", "10 points a draw.", "100 points"]),
    ]:
        # The member's profile language decides (accounts.middleware), so set it as they would.
        type(member).objects.filter(pk=member.pk).update(language=language)
        text = page(client, reverse("lottery_campaign", args=[campaign.pk]), language)
        assert all(part in text for part in shown), language
        assert not any(part in text for part in hidden), language
        assert shown[0] in page(client, reverse("lottery"), language)


def test_an_english_name_left_blank_falls_back_to_the_chinese(client, member):
    campaign = make_campaign(name="春节转盘", name_en="")
    type(member).objects.filter(pk=member.pk).update(language="en")
    client.force_login(member)
    assert '<h1 data-testid="lottery-name">春节转盘</h1>' in page(
        client, reverse("lottery_campaign", args=[campaign.pk]), "en"
    )
