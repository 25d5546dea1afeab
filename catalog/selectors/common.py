"""Pieces both the product pages and the order pages show: media URLs and a review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalog.models import (
    ProductImage,
    Review,
)
from pointsmall.kernel.masking import mask_name


def media_url(file_field_name: str, name: str | None) -> str:
    if not name:
        return ""
    return ProductImage._meta.get_field(file_field_name).storage.url(name)


@dataclass(frozen=True)
class ReviewView:
    rating: int
    text: str
    photo_urls: tuple[str, ...]
    author: str
    created_at: datetime

    @property
    def stars(self) -> range:
        return range(self.rating)

    @property
    def empty_stars(self) -> range:
        return range(5 - self.rating)


def review_view(review: Review) -> ReviewView:
    return ReviewView(
        rating=review.rating,
        text=review.text,
        # Prefetch "photos" when reading many reviews; one query per review otherwise.
        photo_urls=tuple(photo.photo.url for photo in review.photos.all()),
        # Other members see a masked name (pointsmall/kernel/masking.py); the author sees the page too.
        author=mask_name(review.member.public_name),
        created_at=review.created_at,
    )
