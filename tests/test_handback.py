"""What a forked language build hands back to the serving process: only what it changed."""

from __future__ import annotations

from generator.handback import apply_dict_changes, apply_list_changes, dict_changes, list_changes


def test_a_dict_comes_back_as_its_changes_and_is_rebuilt_exactly() -> None:
    kept, replaced = ("page", "search"), ("old", "x")
    before = {"kept": kept, "replaced": replaced, "gone": 1, "same text": "a" * 40}
    after = {"kept": kept, "replaced": ("new", "x"), "added": 2, "same text": "".join(["a"] * 40)}
    changed, gone = dict_changes(before, after)
    # Unchanged entries are not sent, even when the fork made an equal copy of one.
    assert changed == {"replaced": ("new", "x"), "added": 2}
    assert gone == ["gone"]
    target = dict(before)
    apply_dict_changes(target, (changed, gone))
    assert target == after
    assert target["kept"] is kept  # the serving process keeps its own objects


def test_a_list_comes_back_as_indexes_of_what_it_had_and_the_new_items() -> None:
    first, second, third, new = {"location": "a"}, {"location": "b"}, {"location": "c"}, {"location": "d"}
    before = [first, second, third]
    changes = list_changes(before, [first, third, new])
    assert changes == [0, 2, (new,)]
    rebuilt = apply_list_changes(before, changes)
    assert rebuilt == [first, third, new] and rebuilt[1] is third
    # An equal item that is not the same object is sent whole: the fork may have changed it.
    assert list_changes(before, [dict(first)]) == [({"location": "a"},)]
