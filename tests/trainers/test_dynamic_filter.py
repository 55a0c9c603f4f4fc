"""Dynamic filtering's keep / resample / bounded logic on constructed groups (no model)."""

from __future__ import annotations

import pytest

from fctrain.errors import ConfigError
from fctrain.trainers.dynamic_filter import (
    FilterSpec,
    GroupSelector,
    PromptStream,
    groups_to_request,
    keep_group,
)

STAR = FilterSpec(lo=0.01, hi=0.99, min_diff=0.0, max_extra_rounds=2)


@pytest.mark.parametrize(
    ("scores", "kept"),
    [
        ([0.0, 0.0, 0.0, 0.0], False),  # all wrong: mean 0 is not > lo
        ([1.0, 1.0, 1.0, 1.0], False),  # all right: mean 1 is not < hi
        ([0.5, 0.5, 0.5, 0.5], False),  # mean inside but no spread: max - min = 0 is not > 0
        ([0.0, 1.0, 0.0, 0.0], True),
        ([0.2, 0.4, 0.4, 0.4], True),
        ([0.0, 0.0, 0.0, 0.04], False),  # mean 0.01 is not strictly above lo
        ([1.0, 1.0, 1.0, 0.96], False),  # mean 0.99 is not strictly below hi
        ([0.0, 0.0, 0.0, 0.08], True),  # mean 0.02
    ],
)
def test_keep_rule_is_strict(scores, kept):
    assert keep_group(scores, STAR) is kept


def test_min_diff_is_strict():
    spec = FilterSpec(min_diff=0.5)
    assert not keep_group([0.25, 0.75], spec)  # spread 0.5 is not > 0.5
    assert keep_group([0.2, 0.8], spec)


def test_bad_spec_is_a_config_error():
    with pytest.raises(ConfigError, match="lo"):
        FilterSpec(lo=0.9, hi=0.1)
    with pytest.raises(ConfigError):
        FilterSpec(max_extra_rounds=-1)


def _round(*groups):
    """Flatten groups of scores; reward = score except failures (score 0 -> reward -1 for odd rows)."""
    scores = [s for g in groups for s in g]
    return scores, list(scores)


def test_keeps_only_passing_groups_and_asks_for_more():
    sel = GroupSelector(target=3, num_generations=2, spec=STAR)
    keeps = sel.add_round(*_round([0, 1], [1, 1], [0, 0]))
    assert keeps == [True, False, False]
    assert sel.kept == 1 and sel.deficit == 2 and not sel.exhausted()
    # Resample: a second round brings two more passing groups and the batch is full.
    sel.add_round(*_round([0.5, 0.0], [1, 1], [0.3, 0.9]))
    assert sel.deficit == 0
    picked, padded = sel.select()
    assert padded == 0
    assert [(g.round, g.index) for g in picked] == [(0, 0), (1, 0), (1, 2)]


def test_overfull_batch_takes_the_first_passing_groups():
    sel = GroupSelector(target=2, num_generations=2, spec=STAR)
    sel.add_round(*_round([0, 1], [0, 1], [0, 1]))
    picked, padded = sel.select()
    assert [(g.round, g.index) for g in picked] == [(0, 0), (0, 1)] and padded == 0


def test_bounded_rounds_pad_with_the_most_informative_rejected_groups():
    sel = GroupSelector(target=3, num_generations=2, spec=STAR)
    sel.add_round(*_round([0, 1], [1, 1], [0, 0]))
    sel.add_round(*_round([1, 1], [1, 1], [1, 1]))
    assert not sel.exhausted()
    # Last allowed round: rewards differ inside the second group (a failure at -1 next to a 0 score), so
    # that rejected group has a non-zero reward spread and is preferred as padding.
    sel.add_round([0.0, 0.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, -1.0, 0.0, 1.0, 1.0])
    assert sel.exhausted() and sel.extra_rounds == 2 and sel.deficit == 2
    picked, padded = sel.select()
    assert padded == 2
    # the passing group, the rejected group with a reward spread, then the best constant group (oldest first);
    # returned in generation order, which is the order the trainer lays the rows out in
    assert [(g.round, g.index, g.kept) for g in picked] == [(0, 0, True), (0, 1, False), (2, 1, False)]


def test_filter_off_keeps_everything_in_one_round():
    sel = GroupSelector(target=2, num_generations=2, spec=None)
    assert sel.add_round(*_round([1, 1], [0, 0])) == [True, True]
    assert sel.exhausted() and sel.deficit == 0
    assert sel.select()[1] == 0


def test_round_must_hold_whole_groups():
    sel = GroupSelector(target=1, num_generations=4, spec=STAR)
    with pytest.raises(ValueError, match="whole groups"):
        sel.add_round([0.0, 1.0, 0.5], [0.0, 1.0, 0.5])


def test_request_size_follows_the_pass_rate_within_bounds():
    assert groups_to_request(0, kept=4, generated=8, cap=8) == 0
    assert groups_to_request(4, kept=4, generated=8, cap=16) == 8  # pass rate 1/2 -> twice the deficit
    assert groups_to_request(4, kept=0, generated=8, cap=16) == 16  # rate floored at 1/4
    assert groups_to_request(4, kept=0, generated=8, cap=8) == 8  # never more than a normal rollout
    assert groups_to_request(1, kept=8, generated=8, cap=8) == 1


def test_prompt_stream_cycles_every_index_before_repeating():
    stream = PromptStream(5, seed=3)
    first, second = stream.take(5), stream.take(5)
    assert sorted(first) == sorted(second) == [0, 1, 2, 3, 4]
    assert PromptStream(5, seed=3).take(7) == first + second[:2]
