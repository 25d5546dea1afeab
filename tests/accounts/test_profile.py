"""The profile page: display name, phone, avatar, language. Bad input writes nothing."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.exceptions import InvalidPhoneError, InvalidTextError
from accounts.models import User
from tests.accounts.images import image_bytes, jpeg_with_exif, png_header_only, upload

URL = reverse("profile")
PROFILE_FIELDS = ("display_name", "phone", "language", "avatar", "avatar_thumbnail")


def snapshot(user: User) -> dict:
    user.refresh_from_db()
    return {
        field: str(getattr(user, field)) if field.startswith("avatar") else getattr(user, field)
        for field in PROFILE_FIELDS
    }


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def form_data(**overrides) -> dict:
    return {"display_name": "Alice 王", "phone": "", "language": "en"} | overrides


def test_profile_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={URL}"


def test_profile_page_shows_the_form_with_current_values(member_client, member):
    User.objects.filter(pk=member.pk).update(display_name="Bob", phone="13812345678", language="zh-hans")
    response = member_client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="profile-form"' in body
    assert 'name="display_name" value="Bob"' in body
    assert 'name="phone" value="13812345678"' in body
    assert '<option value="zh-hans" selected>' in body
    assert 'type="file" name="avatar"' in body
    # The member chose Chinese: the page is in Chinese whatever the browser asks for.
    assert "保存资料" in body


def test_saving_the_profile_updates_the_member_and_sets_the_language_cookie(member_client, member, media_root):
    response = member_client.post(
        URL, form_data(display_name="  Alice 王  ", phone="+86 138-1234-5678", language="zh-hans")
    )
    assert response.status_code == 302
    assert response["Location"] == URL
    assert snapshot(member) == {
        "display_name": "Alice 王",
        "phone": "13812345678",
        "language": "zh-hans",
        "avatar": "",
        "avatar_thumbnail": "",
    }
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "zh-hans"
    assert cookie["path"] == "/"
    assert files_under(media_root) == []
    # The next page is in the chosen language.
    assert member_client.get(URL)["Content-Language"] == "zh-hans"


def test_clearing_the_phone_stores_null_so_many_members_can_have_none(member_client, member, other_member):
    User.objects.filter(pk=member.pk).update(phone="13812345678")
    member_client.post(URL, form_data(phone=""))
    member.refresh_from_db()
    other_member.refresh_from_db()
    assert member.phone is None
    assert other_member.phone is None


def test_uploading_an_avatar_stores_a_clean_copy_and_a_square_thumbnail(member_client, member, media_root):
    response = member_client.post(URL, form_data(avatar=upload(jpeg_with_exif((300, 200)), "me.jpg", "image/jpeg")))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.avatar.name.startswith("avatars/")
    assert member.avatar.name.endswith(".jpg")
    assert member.avatar_thumbnail.name.endswith("-160.jpg")
    assert files_under(media_root) == sorted([member.avatar.name, member.avatar_thumbnail.name])
    with Image.open(media_root / member.avatar.name) as stored:
        assert stored.size == (200, 300)
        assert dict(stored.getexif()) == {}
    with Image.open(media_root / member.avatar_thumbnail.name) as thumbnail:
        assert thumbnail.size == (160, 160)
    assert f'src="{member.avatar_thumbnail.url}"' in member_client.get(URL).content.decode()


def test_a_new_avatar_replaces_the_old_files(member_client, member, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(URL, form_data(avatar=upload(image_bytes("PNG", (50, 50)))))
    member.refresh_from_db()
    first = sorted([member.avatar.name, member.avatar_thumbnail.name])
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(URL, form_data(avatar=upload(image_bytes("PNG", (80, 80), "RGBA"))))
    member.refresh_from_db()
    assert member.avatar.name.endswith(".png")
    assert files_under(media_root) == sorted([member.avatar.name, member.avatar_thumbnail.name])
    assert not set(first) & set(files_under(media_root))


def test_saving_without_a_new_avatar_keeps_the_current_one(member_client, member, media_root):
    member_client.post(URL, form_data(avatar=upload(image_bytes("PNG", (50, 50)))))
    before = snapshot(member)
    member_client.post(URL, form_data(display_name="New name"))
    assert snapshot(member) == before | {"display_name": "New name"}


BAD_INPUT = [
    pytest.param(
        {"display_name": "x" * 41},
        "display_name",
        "Ensure this value has at most 40 characters (it has 41).",
        id="name-too-long",
    ),
    pytest.param(
        {"display_name": "Al\x07ice"},
        "display_name",
        InvalidTextError.default_message,
        id="name-control-char",
    ),
    pytest.param({"phone": "12345"}, "phone", InvalidPhoneError.default_message, id="phone-short"),
    pytest.param({"phone": "+86 12812345678"}, "phone", InvalidPhoneError.default_message, id="phone-not-mobile"),
    pytest.param(
        {"phone": "1" * 30}, "phone", "Ensure this value has at most 24 characters (it has 30).", id="phone-oversized"
    ),
    pytest.param(
        {"language": "fr"},
        "language",
        "Select a valid choice. fr is not one of the available choices.",
        id="language-unknown",
    ),
    pytest.param({"language": ""}, "language", "This field is required.", id="language-empty"),
    pytest.param(
        {"avatar": upload(b"hello, I am a text file\n" * 20, "photo.png")},
        "avatar",
        "This file is not an image we can use. Upload a PNG, JPEG, WebP or GIF picture.",
        id="avatar-fake-image",
    ),
    pytest.param(
        # Larger bodies never reach the form: 413 before they are read (tests/test_upload_limits.py).
        {"avatar": upload(b"\xff" * (5 * 1024 * 1024 + 1), "huge.jpg", "image/jpeg")},
        "avatar",
        "The picture is too large (5.0\xa0MB). Upload one of at most 5.0\xa0MB.",
        id="avatar-over-5mb",
    ),
    pytest.param(
        {"avatar": upload(png_header_only(6000, 6000))},
        "avatar",
        "The picture has too many pixels (6000 × 6000). Upload one of at most 20 megapixels.",
        id="avatar-too-many-pixels",
    ),
    pytest.param(
        {"avatar": upload(image_bytes("BMP", (20, 20)), "pic.bmp", "image/bmp")},
        "avatar",
        "This file is not an image we can use. Upload a PNG, JPEG, WebP or GIF picture.",
        id="avatar-bmp",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_shows_the_error_and_writes_nothing(member_client, member, media_root, overrides, field, message):
    # The other fields carry a valid change, which must not be saved either.
    before = snapshot(member)
    response = member_client.post(URL, form_data(**({"display_name": "Changed", "phone": "13912345678"} | overrides)))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert snapshot(member) == before
    assert files_under(media_root) == []
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_a_valid_avatar_is_not_stored_when_another_field_is_wrong(member_client, member, media_root):
    before = snapshot(member)
    response = member_client.post(URL, form_data(phone="nope", avatar=upload(image_bytes("PNG", (50, 50)))))
    assert response.status_code == 200
    assert snapshot(member) == before
    assert files_under(media_root) == []


def test_a_phone_another_member_typed_is_saved_unverified_and_nothing_tells(member_client, member, other_member):
    """Numbers are unique only once verified (tests/accounts/test_identity.py): the profile never
    says whether someone else uses a number."""
    User.objects.filter(pk=other_member.pk).update(phone="13812345678")
    response = member_client.post(URL, form_data(phone="+86 138 1234 5678"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.phone, member.phone_verified_at) == ("13812345678", None)


def test_keeping_your_own_phone_is_not_a_duplicate(member_client, member):
    User.objects.filter(pk=member.pk).update(phone="13812345678")
    response = member_client.post(URL, form_data(phone="13812345678", display_name="Me"))
    assert response.status_code == 302
    assert snapshot(member)["display_name"] == "Me"


def test_the_service_refuses_an_implausible_phone(member):
    before = snapshot(member)
    with pytest.raises(InvalidPhoneError):
        services.profile_update(user_id=member.pk, display_name="X", phone="555-1234", language="en")
    assert snapshot(member) == before


def test_the_profile_page_is_in_chinese_after_choosing_it(member_client):
    response = member_client.post(URL, form_data(language="zh-hans"), follow=True)
    assert response.status_code == 200
    assert response.wsgi_request.LANGUAGE_CODE == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()


def test_thumbnail_is_a_valid_image_file(member_client, member, media_root):
    member_client.post(URL, form_data(avatar=upload(image_bytes("WEBP", (400, 100)), "wide.webp", "image/webp")))
    member.refresh_from_db()
    data = (media_root / member.avatar_thumbnail.name).read_bytes()
    with Image.open(io.BytesIO(data)) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (160, 160))
