"""The policy row: a table that holds one row (pk=1), edited by operators in the admin.

A data migration creates the row; until it exists (a fresh test database, a row deleted by
hand) readers get an unsaved instance with the model's field defaults, so every policy has
one documented fallback instead of one per caller.
"""

from __future__ import annotations

from typing import Self, TypeVar

from django.db import models

SINGLETON_PK = 1

M = TypeVar("M", bound=models.Model)


def singleton_load(model: type[M]) -> M:
    """The row with pk=1 of ``model``; an unsaved ``model()`` (its field defaults) when there is none.

    One ``SELECT``, no lock, writes nothing. A caller that must tell "no row" from "a row with
    the defaults" checks ``instance.pk is None``; a caller that writes the policy locks it itself.
    """
    return model._default_manager.filter(pk=SINGLETON_PK).first() or model()


class SingletonModel(models.Model):
    """Abstract base of a one-row policy table: ``Policy.load()`` is :func:`singleton_load`."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls) -> Self:
        return singleton_load(cls)
