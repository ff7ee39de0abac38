"""What a forked language build changed in the live-preview state it inherited, to hand back alone.

While serving, the other language is built by a fork of the serving process, which starts from
that process's state for the language (pages rendered, per-deal fragments, search entries, file
digests) and changes a few entries per rebuild. Pickling the whole state back, and reading it
in the serving process, took about 0.8 s at 1,000 deals; the changes take milliseconds.

The fork shares its objects with the state it inherited, so an entry that is the same object
as before is unchanged; anything else is sent.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def dict_changes(before: dict, after: dict) -> tuple[dict, list]:
    """(entries new or different, keys gone) from `before` to `after`."""
    changed = {}
    for key, value in after.items():
        old = before.get(key, _MISSING)
        if old is not value and (old is _MISSING or old != value):
            changed[key] = value
    return changed, [key for key in before if key not in after]


def apply_dict_changes(target: dict, changes: tuple[dict, list]) -> None:
    changed, gone = changes
    for key in gone:
        target.pop(key, None)
    target.update(changed)


def list_changes(before: list, after: list) -> list[Any]:
    """`after`, with each item that `before` has (the same object) given as its index there."""
    where = {id(item): index for index, item in enumerate(before)}
    return [where[id(item)] if id(item) in where and before[where[id(item)]] is item else (item,)
            for item in after]


def apply_list_changes(before: list, changes: list[Any]) -> list:
    return [before[item] if isinstance(item, int) else item[0] for item in changes]
