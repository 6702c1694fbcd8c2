from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, field_validator

from app.settings_admin.images import StoredImage

LETTER_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
TRANSLATED = ("name", "signatory_name", "signatory_title")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


def clean_translations(value: Any) -> dict[str, dict[str, str]]:
    """``{lang: {name, signatory_name, signatory_title}}`` for the letter languages, trimmed,
    blanks left out (ValueError names what is wrong)."""
    if not isinstance(value, dict):
        raise ValueError("give an object of languages")
    out: dict[str, dict[str, str]] = {}
    for lang, forms in value.items():
        if lang not in LETTER_LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; use {', '.join(LETTER_LANGUAGES)}")
        if not isinstance(forms, dict):
            raise ValueError(f"{lang}: give an object of names")
        kept = {}
        for key, text in forms.items():
            if key not in TRANSLATED:
                raise ValueError(f"{lang}: unknown field {key!r}; use {', '.join(TRANSLATED)}")
            if not isinstance(text, str) or len(text) > 200:
                raise ValueError(f"{lang}.{key}: text of at most 200 characters")
            if text.strip():
                kept[key] = text.strip()
        if kept:
            out[lang] = kept
    return out


class ProfileBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=2000)
    country_code: str = Field(default="", max_length=2, pattern=r"^([A-Za-z]{2})?$")
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40)
    website: str = Field(default="", max_length=200)
    signatory_name: str = Field(default="", max_length=200)
    signatory_title: str = Field(default="", max_length=200)
    reference_prefix: str = Field(default="", max_length=20)
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="The name, signatory_name and signatory_title in each letter language "
        '(en fr es ru ar zh), e.g. {"fr": {"name": "Coalition contre les '
        'sous-munitions"}}',
    )

    @field_validator("translations", mode="before")
    @classmethod
    def _translations(cls, value: Any) -> dict[str, dict[str, str]]:
        return clean_translations(value)


class ProfileUpdate(ProfileBase):
    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        """Letters' emails are sent from this address: it must be one (or left blank)."""
        value = value.strip()
        if not value:
            return ""
        try:
            return _EMAIL.validate_python(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an email address") from None


class ProfileRead(ProfileBase):
    model_config = ConfigDict(from_attributes=True)

    id: int


class ImageRead(BaseModel):
    """An uploaded logo or signature image."""

    kind: str = Field(description="logo or signature")
    content_type: str = Field(description="image/png or image/jpeg")
    width: int
    height: int
    bytes: int = Field(description="The file's size")

    @classmethod
    def of(cls, image: StoredImage) -> ImageRead:
        return cls(
            kind=image.kind,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            bytes=image.size,
        )


class ImagesRead(BaseModel):
    logo: ImageRead | None = Field(description="None: letters show the built-in logo")
    signature: ImageRead | None = Field(description="None: letters leave space to sign by hand")
