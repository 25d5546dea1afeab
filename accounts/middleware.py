"""The member's profile language follows them to every device they sign in on."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from pointsmall.kernel.language import is_site_language


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """The same cookie Django's set_language view writes, so LocaleMiddleware picks it up."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def profile_language(request: HttpRequest) -> str:
    """The signed-in member's chosen language ("" for a visitor, or a member who never chose one)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return user.language if is_site_language(user.language) else ""


class ProfileLanguageMiddleware:
    """A signed-in member reads every page in their profile language, whatever the browser says.

    Sits after AuthenticationMiddleware (it needs the user) and overrides what LocaleMiddleware
    chose from the cookie or Accept-Language. The language cookie follows the profile, so the
    pages stay in that language after signing out on this device too. A response that sets
    the cookie itself (the language switcher, the profile form) is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = profile_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # Read again: the request may have signed the member in, or changed their language.
        language = profile_language(request)
        if (
            language
            and settings.LANGUAGE_COOKIE_NAME not in response.cookies
            and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language
        ):
            set_language_cookie(response, language)
        return response
