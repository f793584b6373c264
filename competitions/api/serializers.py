"""Shapes of the API's answers; the numbers come from the same selectors as the pages."""

from __future__ import annotations

from rest_framework import serializers

from competitions.forms import MAX_DEVICES, MAX_HOURS
from competitions.models import Challenge, Phase, Submission, SubmissionEvent, hardware_choices
from scoring.vocabulary import SPLITS


class PhaseSerializer(serializers.ModelSerializer):
    is_open = serializers.SerializerMethodField()
    leaderboards = serializers.SerializerMethodField()
    quota = serializers.SerializerMethodField(
        help_text="Submissions the caller's team has left, today (UTC) and in the phase; null "
                  "for anyone who has not joined."
    )
    primary_metric = serializers.SerializerMethodField(
        help_text="The primary leaderboard's first ranked column: the phase's primary value "
                  "(a metric id, optionally with its population, e.g. auroc@sex=female)."
    )

    class Meta:
        model = Phase
        fields = ("slug", "name", "start", "end", "is_open", "primary_metric", "threshold",
                  "submissions_per_day", "submissions_total", "quota", "score_visibility",
                  "leaderboards")

    def get_is_open(self, phase: Phase) -> bool:
        return phase.is_open()

    def _overview(self, phase: Phase) -> dict:
        return self.context.get("overview", {}).get(phase.pk, {})

    def get_quota(self, phase: Phase) -> dict | None:
        left = self._overview(phase).get("quota")
        return None if left is None else {"today": left.today, "total": left.total}

    def get_primary_metric(self, phase: Phase) -> str:
        return self._overview(phase).get("primary", "")

    def get_leaderboards(self, phase: Phase) -> list[str]:
        return [b.slug for b in self._overview(phase).get("boards", [])]


class ChallengeSerializer(serializers.ModelSerializer):
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Challenge
        fields = ("slug", "title", "summary", "task", "access", "phases")


class LeaderboardColumnSerializer(serializers.Serializer):
    id = serializers.CharField()
    header = serializers.CharField()
    ranked = serializers.BooleanField()
    higher_is_better = serializers.BooleanField()


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="The ranking rule's value.")
    team = serializers.CharField()
    members = serializers.ListField(child=serializers.CharField())
    submission = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    intervals = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField(), allow_null=True),
        help_text="95% bootstrap interval per column, null where undefined.",
    )
    small = serializers.ListField(child=serializers.CharField(),
                                  help_text="Columns on a small group (value withheld).")
    suppressed = serializers.ListField(
        child=serializers.CharField(),
        help_text="Columns on a group whose value is withheld: small, or hidden with a small "
                  "one so that it cannot be derived by subtraction.",
    )
    median_rank = serializers.FloatField(allow_null=True)
    rank_interval = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    p_first = serializers.FloatField(allow_null=True)
    tied_with_above = serializers.BooleanField(
        allow_null=True,
        help_text="Not significantly different from the entry ranked just above on the first "
        "ranked column (see ties); null for the first entry, where undefined or not computed.",
    )
    energy_kwh = serializers.FloatField(allow_null=True, help_text="From the fact sheet.")
    co2e_kg = serializers.FloatField(allow_null=True)
    levelling = serializers.JSONField(
        allow_null=True,
        help_text="Against the phase's reference entry and floors (null without either, or "
        "while scores are hidden): meets_floors, levelled_down (true, false or null), "
        "explanations, and per metric and attribute the shown groups, gap, worst group, the "
        "reference's groups and gap, the change per group, levelled_down and meets_floor. "
        "Decided on the released (rounded) values. See docs/metrics.md, Levelling down.",
    )


class LeaderboardTiesSerializer(serializers.Serializer):
    column = serializers.CharField(allow_null=True, help_text="The column compared on.")
    metric = serializers.CharField(allow_null=True)
    test = serializers.CharField(allow_null=True, help_text="delong, mcnemar_exact, wilcoxon or "
                                 "paired_bootstrap (two-sided).")
    alpha = serializers.FloatField(help_text="Family-wise error rate of Holm's correction.")
    family = serializers.CharField(allow_null=True, help_text="all_pairs, or adjacent for a "
                                   "large field (only neighbouring entries compared).")
    resamples = serializers.IntegerField(allow_null=True)
    seed = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()


class LeaderboardSerializer(serializers.Serializer):
    challenge = serializers.CharField()
    phase = serializers.CharField()
    leaderboard = serializers.CharField()
    name = serializers.CharField()
    ranking = serializers.CharField()
    explanation = serializers.CharField()
    split = serializers.ChoiceField(choices=list(SPLITS))
    hidden = serializers.BooleanField(help_text="Scores are hidden from you for now.")
    computed_at = serializers.DateTimeField(allow_null=True)
    analysis_pending = serializers.BooleanField(
        help_text="The rank intervals and tie marks of this ranking are still being computed "
                  "(null in the entries until then).",
    )
    columns = LeaderboardColumnSerializer(many=True)
    entries = LeaderboardEntrySerializer(many=True)
    kendall_tau = serializers.FloatField(allow_null=True)
    ties = LeaderboardTiesSerializer(allow_null=True)
    ranking_withheld = serializers.CharField(
        help_text="Why ranks and scores are withheld (the board ranks on a group too small to "
                  "show; entries then come in the order they were submitted); empty otherwise.",
    )
    levelling = serializers.JSONField(
        allow_null=True,
        help_text="The board's reference, floors (ceilings lists the lower-is-better metrics, "
        "whose floor is a ceiling), margin, metrics and attributes; null without a reference "
        "and floors.",
    )


class SubmissionEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubmissionEvent
        fields = ("kind", "at", "detail")


class SubmissionSerializer(serializers.ModelSerializer):
    challenge = serializers.CharField(source="phase.challenge.slug", read_only=True)
    phase = serializers.CharField(source="phase.slug", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    events = SubmissionEventSerializer(many=True, read_only=True)
    results = serializers.SerializerMethodField()
    released = serializers.SerializerMethodField()
    release_note = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ("id", "number", "challenge", "phase", "team", "original_name", "description",
                  "status", "message", "created_at", "finished_at", "events", "results", "released",
                  "release_note")

    def get_released(self, submission: Submission) -> bool | None:
        """Whether its public scores are shown (the phase's release policy); null until
        scored."""
        if submission.released is None:
            return None
        return submission.released or submission.phase.release_policy == "full"

    def get_release_note(self, submission: Submission) -> str:
        """Why its public scores are not shown, in plain words; empty when they are."""
        return "" if self.get_released(submission) in (True, None) else submission.release_note

    def get_results(self, submission: Submission) -> dict[str, dict]:
        """Overall metrics per split the user may see (``{split: {metric: {value, ci}}}``)."""
        return self.context["results"](submission)


class SubmissionCreateSerializer(serializers.Serializer):
    """The upload's fields, for the schema: the request is checked by the upload page's own form
    (``competitions.uploads``), so page and API accept exactly the same."""

    file = serializers.FileField(allow_empty_file=True,
                                 help_text="CSV with case_id and score (optionally label).")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    external_data = serializers.CharField(
        required=False, allow_blank=True, max_length=2000,
        help_text="Data beyond the challenge's, with its source. Empty: none.")
    training_hours = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_HOURS,
        help_text="Training compute, wall-clock hours (with inference_hours and hardware).")
    inference_hours = serializers.FloatField(
        required=False, min_value=0, max_value=MAX_HOURS,
        help_text="Inference compute for these predictions, wall-clock hours.")
    hardware = serializers.ChoiceField(choices=[], required=False, allow_blank=True,
                                       help_text="Hardware type (its rated power per device).")
    devices = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DEVICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hardware"].choices = [name for name, _label in hardware_choices()]
