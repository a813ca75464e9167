"""Ids: fast (not a system call each) yet never repeated by a forked worker, and the keys and
secrets the mock hands out still drawn from the OS."""

from __future__ import annotations

import os
import random

from mockserver.models import CROCKFORD, IdFactory


def ids_in_child(factory: IdFactory) -> list[str]:
    """The next ids a forked child of this process makes, read back over a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its ids and leave at once
        os.write(write, " ".join(factory.nanoid() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    return child


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    factory = IdFactory()
    child = ids_in_child(factory)
    parent = [factory.nanoid() for _ in range(5)]
    assert len(child) == 5 and not set(child) & set(parent)


def test_two_factories_make_different_ids() -> None:
    assert IdFactory().ulid()[10:] != IdFactory().ulid()[10:]


def test_a_seeded_factory_repeats_itself_for_reproducible_tests() -> None:
    first, second = IdFactory(rng=random.Random(7)), IdFactory(rng=random.Random(7))
    assert [first.nanoid(), first.webhook_secret(), first.publishable_key()] == [
        second.nanoid(),
        second.webhook_secret(),
        second.publishable_key(),
    ]


def test_a_ulid_is_its_time_then_its_random_bits_in_crockford_base32() -> None:
    factory = IdFactory(clock=lambda: 1_700_000_000.123, rng=random.Random(3))
    bits = 0
    for byte in random.Random(3).randbytes(16):
        bits = bits << 5 | byte & 31
    ulid = factory.ulid()
    value = 0
    for char in ulid:
        value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    assert len(ulid) == 26 and value == (1_700_000_000_123 << 80) | bits
    assert ulid.startswith("01HF")  # Crockford's digits of 2023-11-14's milliseconds


def test_a_placeholder_name_is_one_word_of_each_list() -> None:
    from mockserver.models import ADJECTIVES, ANIMALS, COLOURS

    names = {IdFactory().random_name() for _ in range(400)}
    words = [name.split(" ") for name in names]
    assert all(a in ADJECTIVES and c in COLOURS and n in ANIMALS for a, c, n in words)
    assert {w[2] for w in words} == set(ANIMALS)  # every animal turns up in 400 draws


def test_a_ulid_spells_the_millisecond_it_was_made_in() -> None:
    now = [1_700_000_000.123]
    factory = IdFactory(clock=lambda: now[0])
    made = []
    for step in (0.0, 0.0004, 0.001, 86_400.0, 0.0):  # same ms, the next, a day later, back
        now[0] += step
        made.append(factory.ulid())
    decoded = [_crockford_value(ulid[:10]) for ulid in made]
    assert decoded == [1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124,
                       1_700_086_400_124, 1_700_086_400_124]  # fmt: skip
    assert len({ulid[10:] for ulid in made}) == 5  # a fresh random part every time


def _crockford_value(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value
