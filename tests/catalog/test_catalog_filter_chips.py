"""Issue #17's catalog filters: exactly one chip highlighted in every group, whatever the query
asked, and a bad points value named, ignored, and the results as if it had not been given."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.enums import ProductKind
from tests.catalog.factories import make_category, make_product

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
GROUPS = ("filter-categories", "filter-kind", "sort", "page-size", "filter-points-ranges")


@pytest.fixture
def shelf():
    books = make_category(name_en="Books", slug="books")
    make_product(books, name_en="Pen", points_price=300)
    make_product(books, name_en="Notebook", points_price=1500)
    make_product(make_category(name_en="Home", slug="home"), name_en="Lamp", points_price=6000)
    make_product(kind=ProductKind.COUPON, name_en="Coupon", points_price=20000)


def _highlighted(html: str) -> dict[str, list[str]]:
    """Per group, the labels of the chips marked as chosen (class is-checked)."""
    chosen = {}
    for group in GROUPS:
        match = re.search(rf'data-testid="{group}"[^>]*>(.*?)</div>', html, re.S)
        assert match, group
        chips = re.findall(
            r'<(?:label|a) class="[^"]*\bis-checked\b[^"]*"[^>]*>(.*?)</(?:label|a)>', match.group(1), re.S
        )
        chosen[group] = [" ".join(re.sub(r"<[^>]+>", " ", chip).split()) for chip in chips]
    return chosen


def _names(response) -> list[str]:
    return sorted(card.name for card in response.context["page"].object_list)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {},
            {
                "filter-categories": "All",
                "filter-kind": "All types",
                "sort": "Popular",
                "filter-points-ranges": "Any points",
            },
        ),
        (
            {
                "category": "books",
                "kind": "coupon",
                "sort": "newest",
                "size": "48",
                "min_points": "1000",
                "max_points": "4999",
            },
            {
                "filter-categories": "Books",
                "filter-kind": "Coupon",
                "sort": "Newest",
                "page-size": "48 per page",
                "filter-points-ranges": "1,000–4,999",
            },
        ),
        ({"max_points": "999"}, {"filter-points-ranges": "Under 1,000"}),
        ({"min_points": "10000"}, {"filter-points-ranges": "10,000 and up"}),
        ({"min_points": "1200", "max_points": "3000"}, {"filter-points-ranges": "Custom: 1,200–3,000"}),
        (
            {"category": "nope", "kind": "car", "sort": "random", "size": "7", "min_points": "-5", "max_points": "abc"},
            {
                "filter-categories": "All",
                "filter-kind": "All types",
                "sort": "Popular",
                "page-size": "24 per page",
                "filter-points-ranges": "Any points",
            },
        ),
        ({"min_points": "500", "max_points": "200"}, {"filter-points-ranges": "Custom: 500 and up"}),
        # No minimum is a minimum of 0 (points are never negative): the "any" chip, no custom one.
        ({"min_points": "0"}, {"filter-points-ranges": "Any points"}),
        ({"min_points": "0", "max_points": "999"}, {"filter-points-ranges": "Under 1,000"}),
        # A typed maximum is named as typed, not as "under" the next number.
        ({"max_points": "4321"}, {"filter-points-ranges": "Custom: up to 4,321"}),
    ],
    ids=[
        "nothing",
        "every-group",
        "under",
        "and-up",
        "custom",
        "all-invalid",
        "min-above-max",
        "min-zero",
        "min-zero-under",
        "custom-max",
    ],
)
def test_exactly_one_chip_is_highlighted_in_every_group(client, shelf, query, expected):
    html = client.get(reverse("product_list"), query).content.decode()

    chosen = _highlighted(html)
    assert all(len(labels) == 1 for labels in chosen.values()), chosen
    for group, label in expected.items():
        assert chosen[group] == [label], (group, chosen)


def _ignored(client, params: dict) -> tuple[list[str], list[str]]:
    response = client.get(reverse("product_list"), params)
    assert response.status_code == 200
    return response.context["filter_errors"], _names(response)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"min_points": "-5"}, "Minimum points “-5” ignored: points can't be negative."),
        ({"max_points": "-1"}, "Maximum points “-1” ignored: points can't be negative."),
        ({"min_points": "lots"}, "Minimum points “lots” ignored: not a whole number."),
        ({"max_points": "1.5"}, "Maximum points “1.5” ignored: not a whole number."),
        (
            {"max_points": "1000000000000"},
            "Maximum points “1000000000000” ignored: more than any item costs (at most 100,000,000).",
        ),
        (
            {"min_points": "9" * 40},
            "Minimum points “99999999999999999999999…” ignored: more than any item costs (at most 100,000,000).",
        ),
    ],
    ids=["negative-min", "negative-max", "word", "fraction", "absurd", "absurdly-long"],
)
def test_a_bad_points_value_is_named_ignored_and_the_results_are_as_if_absent(client, shelf, bad, message):
    other = {"category": "books"}

    errors, names = _ignored(client, {**other, **bad})
    _, without = _ignored(client, other)

    assert errors == [message]
    assert names == without == ["Notebook", "Pen"]


def test_a_minimum_above_the_maximum_ignores_the_maximum_and_says_so(client, shelf):
    errors, names = _ignored(client, {"min_points": "1000", "max_points": "200"})
    _, only_minimum = _ignored(client, {"min_points": "1000"})

    assert errors == ["Maximum points “200” ignored: below the minimum (1,000)."]
    assert names == only_minimum == ["Coupon", "Lamp", "Notebook"]


def test_the_filter_message_reads_in_chinese(client, shelf):
    html = client.get(reverse("product_list"), {"min_points": "-5"}, headers={"Accept-Language": "zh-hans"})

    assert "最低积分“-5”已忽略：积分不能为负数。" in html.content.decode()


def test_an_ignored_value_is_cleared_from_its_box(client, shelf):
    html = client.get(reverse("product_list"), {"min_points": "-5", "max_points": "5000"}).content.decode()

    assert re.search(r'<input[^>]*name="min_points"[^>]*value=""', html)
    assert re.search(r'<input[^>]*name="max_points"[^>]*value="5000"', html)


def test_the_range_chips_link_to_their_range_keeping_the_other_filters(client, shelf):
    html = client.get(reverse("product_list"), {"category": "books", "page": "2", "min_points": "7"}).content.decode()

    links = re.findall(r'<a class="option[^"]*" href="\?([^"]*)" data-points-range', html)
    assert [link.replace("&amp;", "&") for link in links] == [
        "category=books",
        "category=books&max_points=999",
        "category=books&min_points=1000&max_points=4999",
        "category=books&min_points=5000&max_points=9999",
        "category=books&min_points=10000",
        "category=books&min_points=7",
    ]


def test_an_htmx_answer_sends_the_range_chips_back_out_of_band_but_not_the_boxes(client, shelf):
    response = client.get(reverse("product_list"), {"min_points": "5000", "max_points": "9999"}, **HTMX)

    html = response.content.decode()
    assert 'id="points-ranges" data-testid="filter-points-ranges" hx-swap-oob="true"' in html
    assert 'name="min_points"' not in html  # what the member is typing is never overwritten
    assert _highlighted_ranges(html) == ["5,000–9,999"]
    assert _names(response) == ["Lamp"]
    full = client.get(reverse("product_list")).content.decode()
    assert "hx-swap-oob" not in full


def _highlighted_ranges(html: str) -> list[str]:
    return re.findall(r'<a class="option is-checked"[^>]*data-testid="points-range">([^<]*)</a>', html)
