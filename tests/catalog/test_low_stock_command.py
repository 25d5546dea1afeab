"""catalog_low_stock --notify counts the alerts it sends, not the operators it would tell."""

from __future__ import annotations

import io

from django.core.management import call_command

from accounts.models import Notification


def test_a_second_run_the_same_day_reports_no_alert_sent(make_product, operator):
    make_product(name_en="Gone", stock=0, low_stock_threshold=5)
    first, second = io.StringIO(), io.StringIO()

    call_command("catalog_low_stock", "--notify", stdout=first)
    call_command("catalog_low_stock", "--notify", stdout=second)

    assert first.getvalue().splitlines()[-1] == "1 product(s) to restock; 1 inbox alert(s) sent."
    assert second.getvalue().splitlines()[-1] == "1 product(s) to restock; 0 inbox alert(s) sent."
    assert Notification.objects.filter(user=operator).count() == 1


def test_a_dry_run_lists_and_sends_nothing(make_product, operator):
    make_product(name_en="Gone", stock=0, low_stock_threshold=5)
    out = io.StringIO()

    call_command("catalog_low_stock", "--notify", "--dry-run", stdout=out)

    assert out.getvalue().splitlines()[-1] == "[dry run] 1 product(s) to restock; alerts not sent."
    assert Notification.objects.count() == 0
