"""The records the mock keeps (camelCase dicts, as `/__mock/state` shows them) and their ids."""

from __future__ import annotations

import os
import random
import time
import weakref
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Clock = Callable[[], float]
"""Seconds since the epoch; injected so tests can pin time."""

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NANOID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
NANOID_TABLE = bytes(ord(NANOID_ALPHABET[value % 62]) for value in range(256))
_CROCKFORD_PAIRS = tuple(CROCKFORD[pair >> 5] + CROCKFORD[pair & 31] for pair in range(1024))
_TIME_SHIFTS = (40, 30, 20, 10, 0)
_CROCKFORD_BYTES = bytes(ord(CROCKFORD[value & 31]) for value in range(256))
"""A random byte's low five bits as a Crockford character: 256 is a multiple of 32, so uniform."""

ROLES = ("owner", "member", "viewer", "billing")
PLANS = (
    "free",
    "pro",
    "business",
    "business plus",
    "business max",
    "business extra",
    "advanced",
    "enterprise",
)

ADJECTIVES = (
    "Big", "Small", "Quick", "Calm", "Brave", "Bright", "Clever", "Eager", "Gentle", "Happy",
    "Jolly", "Kind", "Lively", "Merry", "Noble", "Proud", "Quiet", "Swift", "Tiny", "Witty",
)  # fmt: skip
COLOURS = (
    "Red", "Blue", "Green", "Yellow", "Purple", "Orange", "Pink", "Teal", "Silver", "Golden",
    "Amber", "Violet", "Indigo", "Coral", "Crimson", "Ivory", "Olive", "Azure", "Scarlet", "Jade",
)  # fmt: skip
ANIMALS = (
    "Caribou", "Otter", "Falcon", "Badger", "Heron", "Lynx", "Panda", "Koala", "Fox", "Wolf",
    "Bison", "Moose", "Gecko", "Lemur", "Puffin", "Walrus", "Marten", "Ibis", "Tapir", "Yak",
)  # fmt: skip


class IdFactory:
    """Makes every id the mock hands out; seeded for reproducible tests.

    Ids come from a Mersenne Twister seeded from the OS (and seeded again in a forked child):
    the OS's generator costs a system call per id, a tenth of a sale's time under load. Keys
    and secrets the mock hands out still come from the OS.
    """

    def __init__(self, clock: Clock = time.time, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._secrets = rng or random.SystemRandom()
        self._rng = rng or random.Random(os.urandom(32))
        self._ulid_time: tuple[int, str] = (-1, "")
        if rng is None:
            _OS_SEEDED.add(self)

    def reseed(self) -> None:
        """A forked child must not hand out its parent's next ids."""
        self._rng.seed(os.urandom(32))

    def ulid(self) -> str:
        """26 Crockford base32 characters: 48 bits of milliseconds (10 characters, spelled once
        a millisecond), then 80 random bits (16 characters, 5 bits of each of 16 random bytes
        in one `translate`): 0.5 µs, where shifting one 128-bit number took 1.4."""
        ms = int(self._clock() * 1000)
        spelled = self._ulid_time  # (ms, text), replaced whole: safe across threads
        if spelled[0] != ms:
            text = "".join([_CROCKFORD_PAIRS[(ms >> shift) & 1023] for shift in _TIME_SHIFTS])
            spelled = self._ulid_time = (ms, text)
        return spelled[1] + self._rng.randbytes(16).translate(_CROCKFORD_BYTES).decode("ascii")

    def nanoid(self) -> str:
        """16 alphanumerics, the shape of Dub's event and click ids.

        Dub's alphabet has no `-` or `_`, so an id never reads as a command-line option when a
        user pastes it after `--click-id`. Each random byte picks a character (byte % 62: a
        slight lean to the first 8, of no matter for a mock's ids) in one `translate`.
        """
        return self.alphanumerics(16)

    def alphanumerics(self, count: int) -> str:
        """`count` characters of Dub's nanoid alphabet (the shape of link keys and events)."""
        return self._rng.randbytes(count).translate(NANOID_TABLE).decode("ascii")

    def customer_id(self) -> str:
        return "cus_" + self.ulid()

    def link_id(self) -> str:
        return "link_" + self.ulid()

    def click_id(self) -> str:
        return self.nanoid()

    def link_key(self) -> str:
        """A short link's key, 7 characters as Dub generates them."""
        return self.alphanumerics(7)

    def publishable_key(self) -> str:
        return "dub_pk_" + self._secrets.randbytes(24).translate(NANOID_TABLE).decode("ascii")

    def webhook_id(self) -> str:
        return "wh_" + self.alphanumerics(24)

    def webhook_secret(self) -> str:
        """`whsec_` and 32 hex characters, the shape of Dub's endpoint secrets."""
        return "whsec_" + self._secrets.randbytes(16).hex()

    def event_id(self) -> str:
        return self.nanoid()

    def random_name(self) -> str:
        """Dub's placeholder customer name, e.g. "Big Red Caribou"."""
        pick = self._rng.getrandbits(30)  # 10 bits a word: bias of at most 1% on 20 words
        return (
            f"{ADJECTIVES[(pick & 1023) % len(ADJECTIVES)]} "
            f"{COLOURS[((pick >> 10) & 1023) % len(COLOURS)]} "
            f"{ANIMALS[(pick >> 20) % len(ANIMALS)]}"
        )


_OS_SEEDED: weakref.WeakSet[IdFactory] = weakref.WeakSet()
"""Factories seeded from the OS, to seed again after a fork."""


def _reseed_after_fork() -> None:
    for factory in list(_OS_SEEDED):
        factory.reseed()


os.register_at_fork(after_in_child=_reseed_after_fork)

DEFAULT_DOMAIN = "dub.sh"
DEFAULT_LINK_URL = "https://example.com"


def new_link(
    link_id: str,
    workspace_id: str,
    *,
    domain: str = DEFAULT_DOMAIN,
    key: str,
    url: str = DEFAULT_LINK_URL,
    disabled: bool = False,
    created_at: str,
) -> Record:
    return {
        "id": link_id,
        "workspaceId": workspace_id,
        "domain": domain,
        "key": key,
        "url": url,
        "shortLink": f"https://{domain}/{key}",
        "disabled": disabled,
        "clicks": 0,
        "leads": 0,
        "sales": 0,
        "saleAmount": 0,
        "conversions": 0,
        "createdAt": created_at,
    }


def new_customer(
    customer_id: str,
    external_id: str,
    workspace_id: str,
    *,
    name: str | None,
    email: str | None,
    avatar: str | None,
    link_id: str | None,
    click_id: str | None = None,
    created_at: str,
) -> Record:
    return {
        "id": customer_id,
        "externalId": external_id,
        "workspaceId": workspace_id,
        "name": name,
        "email": email,
        "avatar": avatar,
        "linkId": link_id,
        "clickId": click_id,
        "sales": 0,
        "saleAmount": 0,
        "firstSaleAt": None,
        "createdAt": created_at,
    }


def public_customer(customer: Record) -> Record:
    """The customer as the track-sale answer shows it: exactly the spec's five keys."""
    return {
        "id": customer["id"],
        "name": customer["name"],
        "email": customer["email"],
        "avatar": customer["avatar"],
        "externalId": customer["externalId"],
    }


def redact_token(token: str) -> str:
    """Enough to recognise a key or secret in a listing, never enough to use it."""
    return token[:4] + "…" + token[-2:] if len(token) > 8 else "…"


_second_text: tuple[int, str] = (-1, "")
"""The last whole second formatted, and its text: most calls share a second. One tuple,
replaced whole, so threads never see a second with another's text."""


def iso_time(seconds: float) -> str:
    """UTC ISO-8601 with milliseconds, as Dub's API prints times."""
    global _second_text
    whole = int(seconds)
    second, text = _second_text
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second_text = (whole, text)
    return f"{text}.{int((seconds - whole) * 1000):03d}Z"
