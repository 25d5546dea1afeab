"""The policy row: pk=1 when it exists, the model's defaults (unsaved) when it does not."""

from __future__ import annotations

import pytest

from accounts.models import IdentityPolicy
from points.models import ExpiryPolicy
from pointsmall.kernel.singleton import SINGLETON_PK, singleton_load

pytestmark = pytest.mark.django_db


def test_the_row_with_pk_1_is_loaded():
    IdentityPolicy.objects.update_or_create(pk=SINGLETON_PK, defaults={"ignore_plus_tags": False})
    policy = IdentityPolicy.load()
    assert (policy.pk, policy.ignore_plus_tags) == (1, False)


def test_without_the_row_the_defaults_come_back_unsaved_and_nothing_is_written():
    IdentityPolicy.objects.all().delete()
    policy = IdentityPolicy.load()
    assert (policy.pk, policy.ignore_plus_tags) == (None, True)
    assert not IdentityPolicy.objects.exists()


def test_another_row_is_not_the_policy():
    IdentityPolicy.objects.all().delete()
    IdentityPolicy.objects.create(pk=2, ignore_plus_tags=False)
    assert IdentityPolicy.load().pk is None


def test_the_function_serves_models_without_the_base_class():
    ExpiryPolicy.objects.all().delete()
    assert singleton_load(ExpiryPolicy).pk is None
    ExpiryPolicy.objects.create(pk=SINGLETON_PK)
    assert singleton_load(ExpiryPolicy).pk == 1


def test_loading_takes_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        IdentityPolicy.load()
