"""Refusals of the lottery, each with a code and a message a member or operator can read.
The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _  # noqa: F401

from pointsmall.kernel.errors import DomainError  # noqa: F401
