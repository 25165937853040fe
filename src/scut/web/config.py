"""Settings of the web application, read from ``SCUT_WEB_*`` environment variables."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LANGUAGES = ("ro", "en", "ru")


class WebSettings(BaseSettings):
    """Settings of the pages and cookies that ``scut serve`` sends."""

    model_config = SettingsConfigDict(env_prefix="SCUT_WEB_", extra="ignore")

    # Cookies are Secure, so browsers send them over HTTPS only. With this
    # on, a client on a loopback address (127.0.0.0/8, ::1) that talks
    # plain HTTP gets cookies without the flag, for tests and the demo.
    # Clients on any other address get Secure cookies whatever this is.
    plain_http_loopback: bool = False
    # IANA time zone in which pages show dates and times.
    time_zone: str = "Europe/Chisinau"
    # Language of a visitor who chose none and whose browser requests none
    # of LANGUAGES.
    default_language: str = "ro"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}: {error}") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _offered_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}, not {value!r}")
        return value
