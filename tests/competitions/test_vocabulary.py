"""The web's choices are scoring's names: a rule, split or measure added or renamed on one side
alone fails here instead of drifting (a leaderboard the engine cannot rank, a split no query
finds)."""

from __future__ import annotations

from competitions.metrics import USES_LABELS
from competitions.models import (
    RANKING_SCORE_LABELS,
    Challenge,
    Leaderboard,
    LeaderboardSnapshot,
    Phase,
    SimilarityReport,
)
from competitions.selectors import similarity as similarity_page
from scoring import ranking, raters, registry, similarity, vocabulary


def test_every_ranking_rule_of_scoring_is_a_leaderboard_choice_and_nothing_else():
    assert tuple(Leaderboard.Ranking.values) == vocabulary.RULES
    assert Leaderboard.Ranking.PRIMARY == "primary"
    assert Leaderboard.Ranking.RANK_THEN_AGGREGATE == "rank_then_aggregate"
    assert all(label and label != value for value, label in Leaderboard.Ranking.choices)


def test_ranking_reads_the_same_rules_and_explains_each():
    assert ranking.RULES is vocabulary.RULES
    assert set(ranking.RULE_EXPLANATIONS) == set(vocabulary.RULES)


def test_the_leaderboard_names_the_score_of_every_rule():
    assert set(RANKING_SCORE_LABELS) == set(vocabulary.RULES)
    assert len({str(label) for label in RANKING_SCORE_LABELS.values()}) == len(vocabulary.RULES)


def test_the_glossary_says_in_words_what_every_metric_may_read():
    assert set(USES_LABELS) == set(vocabulary.METRIC_INPUTS)


def test_stored_splits_are_the_splits_scoring_knows():
    for model in (LeaderboardSnapshot, SimilarityReport):
        choices = model._meta.get_field("split").choices
        assert tuple(value for value, _label in choices) == vocabulary.SPLITS


def test_the_similarity_page_shows_scorings_measures_and_hides_those_using_labels():
    assert sorted(similarity_page.SIMILARITY_MEASURES) == sorted(vocabulary.SIMILARITY_MEASURES)
    assert similarity.MEASURES is vocabulary.SIMILARITY_MEASURES
    assert similarity.LABEL_MEASURES is vocabulary.LABEL_SIMILARITY_MEASURES
    assert set(vocabulary.SIMILARITY_MEASURES) >= vocabulary.LABEL_SIMILARITY_MEASURES


def test_every_task_of_a_challenge_has_a_default_metric_of_that_task():
    assert set(registry.DEFAULT_METRICS) == set(Challenge.Task.values)
    for task, metric in registry.DEFAULT_METRICS.items():
        assert metric in {m.id for m in registry.metrics_for(task)}


def test_the_rater_tie_rules_are_scorings():
    assert tuple(Phase.RaterTie.values) == vocabulary.TIE_RULES
    assert raters.TIE_RULES is vocabulary.TIE_RULES
