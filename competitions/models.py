"""Challenges, phases, teams and submissions.

Invariants the application relies on are constraints in the database (one team per participant
and challenge, a phase ends after it starts, a submission's status is one of four), so no code
path, admin form or race can break them.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.functional import LazyObject
from django.utils.translation import gettext_lazy as _

from scoring.carbon import HARDWARE_POWER_W, OTHER_HARDWARE
from scoring.error_costs import ErrorCosts
from scoring.groups import parse_pairs
from scoring.levelling import check_floors
from scoring.similarity import FLAG_THRESHOLD
from scoring.vocabulary import RULES, SPLITS, TIE_RULES


class PrivateStorage(LazyObject):
    """The storage for files no URL may serve directly (ground truth, submissions)."""

    def _setup(self) -> None:
        self._wrapped = storages["private"]


private_storage = PrivateStorage()


def private_storage_for_fields() -> object:
    """The private storage as a callable for FileFields, so migrations record a reference to
    this function instead of the storage's settings (an absolute path that differs per
    checkout)."""
    return storages["private"]


def _truth_path(instance: Phase, filename: str) -> str:
    return f"truth/{uuid.uuid4().hex}.csv"


def _derived_path(instance: Phase, filename: str) -> str:
    return f"derived/{uuid.uuid4().hex}-{filename}"


def _reference_path(instance: Phase, filename: str) -> str:
    return f"reference/{instance.challenge_id}/{uuid.uuid4().hex}.csv"


def _submission_path(instance: Submission, filename: str) -> str:
    # A generated name: the participant's file name is kept only as data (original_name).
    return f"submissions/{instance.phase_id}/{uuid.uuid4().hex}.upload"


def _case_results_path(instance: Submission, filename: str) -> str:
    return f"case-results/{instance.phase_id}/{uuid.uuid4().hex}-{filename}"


def _similarity_path(instance: SimilarityReport, filename: str) -> str:
    return f"similarity/{instance.phase_id}/{instance.split}-{uuid.uuid4().hex}-{filename}"


def random_split_seed() -> int:
    """A fresh seed for a phase's split (``secrets``: not guessable from other phases')."""
    return secrets.randbelow(2**31)


def hardware_choices() -> list[tuple[str, str]]:
    """The hardware types a fact sheet may name: those ``scoring.carbon`` has a power for (a
    laptop's or desktop's processor among them), then "other", whose energy is not estimated."""
    return [
        *((key, f"{key} ({watts:g} W)") for key, watts in sorted(HARDWARE_POWER_W.items())),
        (OTHER_HARDWARE, str(_("other (energy not estimated)"))),
    ]


def _data_file_path(instance: DataFile, filename: str) -> str:
    return f"data/{instance.challenge_id}/{uuid.uuid4().hex}"


class Challenge(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (organisers only)")
        PUBLISHED = "published", _("Published")

    class Access(models.TextChoices):
        PUBLIC = "public", _("Public: anyone may join")
        PRIVATE = "private", _("Private: joining needs the invitation code")

    class Task(models.TextChoices):
        BINARY = "binary", _("Binary classification")
        MULTICLASS = "multiclass", _("Multiclass classification")
        REGRESSION = "regression", _("Regression")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    summary = models.CharField(max_length=300, blank=True)
    overview = models.TextField(blank=True, help_text=_("Markdown."))
    rules = models.TextField(blank=True, help_text=_("Markdown; participants accept these."))
    data_description = models.TextField(blank=True, help_text=_("Markdown."))
    organisers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organised_challenges", blank=True
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    access = models.CharField(max_length=16, choices=Access, default=Access.PUBLIC)
    invitation_code = models.CharField(
        max_length=64, blank=True, help_text=_("Required for private challenges.")
    )
    task = models.CharField(max_length=16, choices=Task, default=Task.BINARY)
    max_team_size = models.PositiveSmallIntegerField(default=3)
    grid_intensity = models.FloatField(
        null=True,
        blank=True,
        help_text=_(
            "Carbon intensity of the electricity the entries' compute used, in gCO2e/kWh "
            "(e.g. from your grid operator); a phase may override it. Empty: no CO2e estimate."
        ),
    )
    course_mode = models.BooleanField(
        default=False,
        help_text=_(
            "For a class: public pages show every other team as “Anonymous team (n)” without "
            "its members, to students and the public alike; the teachers (organisers) see "
            "names and each student's submissions."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grid_intensity__isnull=True) | Q(grid_intensity__gte=0),
                name="challenge_grid_intensity_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(access="private") | ~Q(invitation_code=""),
                name="private_challenge_has_invitation_code",
            ),
            models.CheckConstraint(condition=Q(max_team_size__gte=1), name="team_size_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.access == self.Access.PUBLIC


class Phase(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    start = models.DateTimeField()
    end = models.DateTimeField()
    submissions_per_day = models.PositiveIntegerField(
        default=5, help_text=_("Per team and UTC calendar day.")
    )
    submissions_total = models.PositiveIntegerField(default=100, help_text=_("Per team."))
    threshold = models.FloatField(
        default=0.5, help_text=_("Scores at or above it count as positive decisions.")
    )
    primary_metric = models.CharField(
        max_length=64, default="auroc", help_text=_("Ranks the leaderboard.")
    )
    # The costs of the two errors (expected_cost) and the organiser's answers the metric
    # advisor (scoring.advisor) reads beside the ground truth's prevalences.
    cost_fn = models.FloatField(
        default=1.0,
        help_text=_(
            "Cost of one false negative (a missed positive) in expected_cost, in any unit; "
            "positive. With both costs 1, expected_cost is the error rate."
        ),
    )
    cost_fp = models.FloatField(
        default=1.0,
        help_text=_("Cost of one false positive (a false alarm) in expected_cost; positive."),
    )
    costs_known = models.BooleanField(
        default=False,
        help_text=_("The costs above are the task's real costs of errors (the metric advisor "
                    "then recommends expected_cost and net_benefit)."),
    )
    threshold_given = models.BooleanField(
        default=False,
        help_text=_("The threshold is a decision rule the task prescribes (e.g. a clinical "
                    "cut-off), not only a default: the advisor then recommends metrics of the "
                    "decisions."),
    )
    calibration_matters = models.BooleanField(
        default=False,
        help_text=_("The scores must be usable as probabilities (the advisor then recommends "
                    "calibration metrics)."),
    )
    interest_in_positives = models.BooleanField(
        default=False,
        help_text=_("The interest lies in finding the positive cases, rather than in both "
                    "classes alike."),
    )
    bootstrap_resamples = models.PositiveIntegerField(
        default=200,
        help_text=_("Resamples for the 95% intervals (0 turns intervals off; at most 5,000)."),
    )
    min_group_size = models.PositiveIntegerField(
        default=30,
        help_text=_(
            "Smaller subgroups are marked small: not used for fairness summaries, and their "
            "values are shown only to organisers."
        ),
    )
    intersections = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Attribute pairs to score together, e.g. sex:age_band, sex:kidney_function."),
    )
    ground_truth = models.FileField(
        storage=private_storage_for_fields, upload_to=_truth_path, blank=True, max_length=300
    )
    truth_n_cases = models.PositiveIntegerField(null=True, blank=True, editable=False)
    truth_attributes = models.JSONField(default=list, blank=True, editable=False)
    truth_uploaded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The scoring core's evaluation-data report (scoring.describe): group sizes, positive rates,
    # expected interval widths and warnings. Organisers only.
    truth_report = models.JSONField(null=True, blank=True, editable=False)
    # Design-time power (scoring.power): the admin's ground-truth page says, per group, how many
    # positives (negatives) detect this difference in sensitivity (specificity) from this
    # baseline, and the leaderboard flags ranked group columns whose test set cannot.
    power_baseline = models.FloatField(
        default=0.8,
        help_text=_(
            "Power at design time: the sensitivity or specificity an entry is expected to "
            "reach, strictly between 0 and 1."
        ),
    )
    power_difference = models.FloatField(
        default=0.05,
        help_text=_(
            "Power at design time: the smallest difference from the baseline that matters "
            "(e.g. 0.05); positive, with baseline + difference at most 1."
        ),
    )
    private_share = models.FloatField(
        default=0.0,
        help_text=_(
            "For a ground truth without a split column: the share of cases (per label, seeded) "
            "kept private until the end. Applied when the ground truth is uploaded."
        ),
    )
    split_seed = models.PositiveIntegerField(
        default=random_split_seed,
        help_text=_(
            "Seed of the public/private split made for a ground truth without a split column. "
            "Random for each new phase and shown only here, so that no one can rebuild the "
            "hidden split from the public data."
        ),
    )
    # Counts requests to re-rank the phase; a snapshot records the count it was computed at, so
    # a worker with a backlog ranks once for all requests made before it read the field.
    leaderboard_version = models.PositiveIntegerField(default=0, editable=False)
    score_visibility = models.CharField(
        max_length=16,
        choices=[
            ("live", _("Shown while the phase runs (public cases only)")),
            ("after_end", _("Hidden until the phase ends")),
            ("on_publish", _("Hidden until an organiser publishes them")),
        ],
        default="live",
    )
    scores_published_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set by the “publish scores” admin action.")
    )
    class ReleasePolicy(models.TextChoices):
        LADDER = "ladder", _("Ladder: release a submission only when it is significantly better")
        FULL = "full", _("Full: release every submission's public scores")

    release_policy = models.CharField(
        max_length=8,
        choices=ReleasePolicy,
        default=ReleasePolicy.LADDER,
        help_text=_(
            "Ladder (recommended): a submission's public scores are shown only when it beats "
            "the person's best released submission significantly. Full: every submission's "
            "public scores are shown — labels can then be read back from the feedback "
            "(rounding stops the precision probe, not differencing two submissions nor "
            "counting probes); choose it only for a practice phase."
        ),
    )
    release_decimals = models.PositiveSmallIntegerField(
        default=3,
        help_text=_(
            "Decimals of every value participants and the public see (pages, API, downloads). "
            "At most 3; fewer is coarser. Organisers always see exact values."
        ),
    )
    case_list = models.FileField(
        storage=private_storage_for_fields, upload_to=_derived_path, blank=True, editable=False
    )
    sample_submission = models.FileField(
        storage=private_storage_for_fields, upload_to=_derived_path, blank=True, editable=False
    )
    similarity_flag_threshold = models.FloatField(
        default=FLAG_THRESHOLD,
        help_text=_(
            "Pairs of different teams whose error consistency reaches this value are flagged "
            "for review on the Similarity page (organisers only)."
        ),
    )
    ensemble_size = models.PositiveSmallIntegerField(
        default=3,
        help_text=_("k of the field's virtual ensembles (top-k and diverse-k) on Similarity."),
    )
    grid_intensity = models.FloatField(
        null=True,
        blank=True,
        help_text=_("gCO2e/kWh for this phase; empty: the challenge's value."),
    )

    # Levelling down (docs/metrics.md): every entry is compared group by group with one
    # reference entry — an organiser's baseline among the phase's submissions, or a file such
    # as the previous challenge's winner, scored like a submission when it is uploaded — and
    # held to minimum rates per metric (ceilings for lower-is-better metrics).
    reference_submission = models.ForeignKey(
        "Submission", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text=_("An organiser's baseline among this phase's submissions, compared with "
                    "every entry group by group (levelling down)."),
    )
    reference_file = models.FileField(
        storage=private_storage_for_fields, upload_to=_reference_path, blank=True,
        editable=False,
    )
    reference_label = models.CharField(
        max_length=120, blank=True,
        help_text=_("How the pages name the reference, e.g. “Organisers' baseline” or "
                    "“Winner of the 2025 challenge”."),
    )
    # The uploaded reference's scores (Submission.result's layout), computed when it is saved.
    reference_result = models.JSONField(null=True, blank=True, editable=False)
    floors = models.JSONField(
        default=dict, blank=True,
        help_text=_("Minimum rates per metric, e.g. {\"sensitivity\": 0.5}: every group must "
                    "reach it. For a lower-is-better metric it is a ceiling."),
    )
    levelling_margin = models.FloatField(
        default=0.01,
        help_text=_("How much worse (or better) than the reference a value must be to count as "
                    "changed, for the levelling-down flag."),
    )

    class RaterTie(models.TextChoices):
        # The rules are scoring's (scoring.vocabulary.TIE_RULES); only the labels are the web's.
        OFFICIAL = "official", _("The official label decides")
        POSITIVE = "positive", _("Positive (binary) / the last class")
        NEGATIVE = "negative", _("Negative (binary) / the first class")

    rater_tie_rule = models.CharField(
        max_length=8,
        choices=RaterTie,
        default=RaterTie.OFFICIAL,
        help_text=_(
            "With several raters (label_<rater> columns in the ground truth): which label a "
            "case gets when the raters' vote is tied, for the scores against the majority. "
            "Submissions scored before a change keep their majority scores until rescored."
        ),
    )

    class Meta:
        ordering = ["challenge", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(similarity_flag_threshold__gte=-1)
                & Q(similarity_flag_threshold__lte=1),
                name="similarity_flag_threshold_is_a_kappa",
            ),
            models.CheckConstraint(
                condition=Q(ensemble_size__gte=1), name="ensemble_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(grid_intensity__isnull=True) | Q(grid_intensity__gte=0),
                name="phase_grid_intensity_non_negative",
            ),
            models.UniqueConstraint(fields=["challenge", "slug"], name="phase_slug_unique"),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="phase_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gt=0) & Q(threshold__lt=1), name="threshold_in_open_unit"
            ),
            models.CheckConstraint(
                condition=Q(cost_fn__gt=0) & Q(cost_fp__gt=0), name="error_costs_positive",
                violation_error_message=_("The costs of errors must be positive numbers."),
            ),
            models.CheckConstraint(
                condition=Q(submissions_per_day__gte=1) & Q(submissions_total__gte=1),
                name="quotas_positive",
            ),
            models.CheckConstraint(
                condition=Q(bootstrap_resamples__lte=5000), name="bootstrap_resamples_bounded"
            ),
            models.CheckConstraint(condition=Q(min_group_size__gte=1), name="min_group_positive"),
            models.CheckConstraint(
                condition=Q(release_decimals__lte=3), name="release_decimals_at_most_3"
            ),
            models.CheckConstraint(
                condition=Q(release_policy__in=["ladder", "full"]), name="release_policy_valid"
            ),
            models.CheckConstraint(
                condition=Q(rater_tie_rule__in=list(TIE_RULES)), name="rater_tie_rule_valid"
            ),
            models.CheckConstraint(
                condition=Q(private_share__gte=0) & Q(private_share__lt=1),
                name="private_share_in_unit",
            ),
            models.CheckConstraint(
                condition=Q(levelling_margin__gte=0), name="levelling_margin_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(reference_submission__isnull=True) | Q(reference_file=""),
                name="one_reference_entry",
                violation_error_message=_(
                    "Choose a baseline submission or upload a reference file, not both."
                ),
            ),
            models.CheckConstraint(
                condition=Q(power_baseline__gt=0) & Q(power_baseline__lt=1)
                & Q(power_difference__gt=0)
                & Q(LessThanOrEqual(models.F("power_baseline") + models.F("power_difference"),
                                    1)),
                name="power_settings_are_proportions",
                violation_error_message=_(
                    "The power baseline must be between 0 and 1 and the difference positive, "
                    "with baseline + difference at most 1."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.challenge.title}: {self.name}"

    def save(self, *args, **kwargs) -> None:
        # The re-rank counter changes only by F() updates; a save of an instance loaded earlier
        # (the admin, a service) must not write back an older count.
        if not self._state.adding and "update_fields" not in kwargs:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "leaderboard_version"
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The power settings as the scoring core accepts them (``scoring.power.check_options``)
        and the costs of errors (positive), each problem on its field."""
        super().clean()
        errors = {}
        if not 0 < self.power_baseline < 1:
            errors["power_baseline"] = _(
                "The baseline is a proportion: give a value strictly between 0 and 1, e.g. 0.8."
            )
        if not self.power_difference > 0:
            errors["power_difference"] = _(
                "The difference to detect must be positive, e.g. 0.05."
            )
        elif not errors and self.power_baseline + self.power_difference > 1:
            errors["power_difference"] = _(
                "Baseline %(p)s + difference %(d)s is above 1, which no sensitivity or "
                "specificity can reach: lower one of them."
            ) % {"p": self.power_baseline, "d": self.power_difference}
        for name in ("cost_fn", "cost_fp"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                errors[name] = _("A cost of an error must be a positive number, e.g. 1 or 5.")
        floors = check_floors(self.challenge.task, self.floors) if self.challenge_id else []
        if floors:
            errors["floors"] = floors
        if self.reference_submission_id and self.pk and not Submission.objects.filter(
                pk=self.reference_submission_id, phase_id=self.pk).exists():
            errors["reference_submission"] = _("Choose a submission of this phase.")
        if errors:
            raise ValidationError(errors)

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.start <= at < self.end

    @property
    def error_costs(self) -> ErrorCosts:
        """The costs of a false negative and a false positive, as the scoring core takes them."""
        return ErrorCosts(fn=self.cost_fn, fp=self.cost_fp)

    @property
    def intersection_pairs(self) -> list[tuple[str, str]]:
        return parse_pairs(self.intersections)

    @property
    def has_private_cases(self) -> bool:
        """Whether the ground truth's ``split`` column puts any case in the private split."""
        return bool((self.truth_report or {}).get("split", {}).get("private"))

    @property
    def has_ended(self) -> bool:
        return timezone.now() >= self.end

    @property
    def effective_grid_intensity(self) -> float | None:
        """gCO2e/kWh: the phase's own value, else the challenge's; None when neither is set."""
        if self.grid_intensity is not None:
            return self.grid_intensity
        return self.challenge.grid_intensity

    @property
    def scores_hidden(self) -> bool:
        """Whether participants and the public see no scores of this phase yet."""
        if self.score_visibility == "after_end":
            return not self.has_ended
        if self.score_visibility == "on_publish":
            return self.scores_published_at is None
        return False


class DataFile(models.Model):
    """Participant-facing data an organiser adds (a file or a link), never the ground truth."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="data_files")
    title = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    file = models.FileField(
        storage=private_storage_for_fields, upload_to=_data_file_path, blank=True, max_length=300
    )
    filename = models.CharField(max_length=200, blank=True, help_text=_("Name for downloads."))
    url = models.URLField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(file="") | ~Q(url=""), name="data_file_has_file_or_url"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Team(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    invite_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Public leaderboards then show "Anonymous team" without members; organisers see the name.
    anonymous = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "name"], name="team_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Participant(models.Model):
    """A user who joined a challenge and accepted its rules; always in exactly one team."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="members")
    accepted_rules_at = models.DateTimeField()
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["challenge", "user"], name="one_team_per_challenge")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class TeamInvitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_invitation_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} invited to {self.team}"


class TeamMergeRequest(models.Model):
    """A pending request of one team (``from_team``) to merge into another (``into_team``).

    Only pending requests are stored: accepting, declining or cancelling one deletes it. A team
    asks one team at a time, and never itself."""

    from_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="merge_requests_sent"
    )
    into_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="merge_requests_received"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["from_team"], name="one_merge_request_per_team"),
            models.CheckConstraint(
                condition=~Q(from_team=models.F("into_team")), name="merge_into_another_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_team} asks to merge into {self.into_team}"


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SCORING = "scoring", _("Scoring")
        SCORED = "scored", _("Scored")
        FAILED = "failed", _("Failed")

    # These count against a team's quota; a failed submission frees its slot.
    COUNTED_STATUSES = (Status.QUEUED, Status.SCORING, Status.SCORED)

    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="submissions")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="submissions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    file = models.FileField(
        storage=private_storage_for_fields, upload_to=_submission_path, max_length=300
    )
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    description = models.TextField(blank=True, help_text=_("Optional: how was this made?"))
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    message = models.TextField(blank=True, help_text=_("Shown to the team, e.g. why it failed."))
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many times scoring started; the sweeper fails a submission that keeps killing workers.
    deliveries = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    engine_version = models.CharField(max_length=32, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # Per-case outputs aligned to the ground truth's case order (scoring.io.read_truth), written
    # by the worker with the result so that field-wide analyses (similarity, ensembles, ranking
    # robustness) read compact arrays instead of parsing every CSV again. See
    # competitions/case_results.py for their layout.
    case_scores = models.FileField(
        storage=private_storage_for_fields, upload_to=_case_results_path, blank=True,
        editable=False, max_length=300,
    )
    case_decisions = models.FileField(
        storage=private_storage_for_fields, upload_to=_case_results_path, blank=True,
        editable=False, max_length=300,
    )
    # The team's own pick of its counting submission, for leaderboards that count the chosen one.
    selected = models.BooleanField(default=False)
    # The release step's decision once scored (competitions/worker/ladder.py): True when its
    # public-split values may be shown to participants; False under the ladder when it is not
    # significantly better than its author's best released submission, or flagged as a probe.
    # None until scored. ``release_note`` says why in plain words; ``ladder`` holds the
    # comparison for the organisers (compared_to, column, improvement, ci, resamples).
    released = models.BooleanField(null=True, blank=True, editable=False)
    release_note = models.CharField(max_length=200, blank=True, editable=False)
    ladder = models.JSONField(null=True, blank=True, editable=False)
    # The team's own count: its first submission is #1, whoever made it and in whichever phase
    # (ids are site-wide and tell a team nothing). Given under the team's lock at upload;
    # ``label`` falls back to the id for rows made without it (bulk inserts in benchmarks).
    number = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "phase", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["team", "number"], name="submission_number_per_team"),
            models.UniqueConstraint(
                fields=["team", "phase"],
                condition=Q(selected=True),
                name="one_selected_submission_per_team_and_phase",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "scoring", "scored", "failed"]),
                name="submission_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="scored") | Q(result__isnull=False),
                name="scored_submission_has_result",
            ),
        ]

    def __str__(self) -> str:
        return f"Submission {self.pk} by {self.team}"

    @property
    def label(self) -> int:
        """The number the team knows this submission by."""
        return self.number or self.pk


class FactSheet(models.Model):
    """What a team declares about how a submission was made and the compute it used.

    The method summary is the submission's ``description``. Compute is optional but complete
    when given: wall-clock hours of training and of inference on ``devices`` units of
    ``hardware``, from which ``scoring.carbon`` estimates energy and CO2e.
    """

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, related_name="fact_sheet"
    )
    external_data = models.TextField(
        blank=True, help_text=_("Data beyond the challenge's, with its source; empty: none.")
    )
    training_hours = models.FloatField(
        null=True, blank=True, help_text=_("Wall-clock hours of training.")
    )
    inference_hours = models.FloatField(
        null=True, blank=True, help_text=_("Wall-clock hours to predict the challenge's cases.")
    )
    hardware = models.CharField(max_length=40, choices=hardware_choices, blank=True)
    devices = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(training_hours__isnull=True, inference_hours__isnull=True, hardware="")
                    # isnull=False keeps the condition from being NULL, which a CHECK accepts.
                    | (
                        Q(training_hours__isnull=False, inference_hours__isnull=False)
                        & Q(training_hours__gte=0, inference_hours__gte=0)
                        & ~Q(hardware="")
                    )
                ),
                name="fact_sheet_compute_complete_and_non_negative",
                violation_error_message=_(
                    "Give training hours and inference hours (both 0 or more) and the hardware "
                    "type together, or none of them."
                ),
            ),
            models.CheckConstraint(
                condition=Q(devices__gte=1),
                name="fact_sheet_devices_positive",
                violation_error_message=_("The number of devices must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"Fact sheet of submission {self.submission_id}"

    @property
    def has_compute(self) -> bool:
        return bool(self.hardware)

    @property
    def compute_hours(self) -> float | None:
        """Device-hours of training and inference together; None without compute."""
        if not self.has_compute:
            return None
        return (self.training_hours + self.inference_hours) * self.devices


class SubmissionEvent(models.Model):
    """One step in a submission's life, with its time; the team and organisers see this log."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        STARTED = "started", _("Scoring started")
        FINISHED = "finished", _("Scored")
        FAILED = "failed", _("Failed")
        REQUEUED = "requeued", _("Re-queued")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind)
    at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class SubmissionFlag(models.Model):
    """A sign, found by the worker, that a submission probes the evaluation (``scoring.probes``):
    for the organisers only, listed per phase in the admin."""

    class Reason(models.TextChoices):
        NEAR_DUPLICATE = "near_duplicate", _("Differs from an earlier one in under 1% of cases")
        ONE_CLASS = "one_class", _("99% or more of its decisions are one class")
        CONSTANT_SCORES = "constant_scores", _("95% or more of its scores are one value")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=20, choices=Reason)
    detail = models.CharField(max_length=300, blank=True)
    differing_cases = models.PositiveIntegerField(null=True, blank=True)
    earlier = models.ForeignKey(
        Submission, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "reason"],
                                    name="one_flag_per_submission_and_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: submission {self.submission_id}"


# Case splits as scoring names them (scoring.vocabulary.SPLITS); the stored value is the label.
SPLIT_CHOICES = [(split, split) for split in SPLITS]

class SimilarityReport(models.Model):
    """How alike the counting submissions of a phase are, on one case split, at one time.

    A new row per computation: the latest is shown, the series gives the field's diversity trend.
    The S x S matrices (every measure, overall and per subgroup) are a file in the private
    storage, not JSON in the row: at 1,000 entries with 4 subgroups they are 140 MB as packed
    float64 against 675 MB of JSON (docs/benchmarks.md). Only the latest report of a split
    keeps its file (``competitions.similarity_arrays``); older rows keep their trend point.
    """

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="similarity_reports")
    split = models.CharField(max_length=16, choices=SPLIT_CHOICES)
    computed_at = models.DateTimeField(default=timezone.now)
    # [{"submission": id, "team": name, "version": case-results file}] in the matrices' order;
    # a stored matrix row is reused only for the same submission with the same version.
    entries = models.JSONField(default=list)
    # scoring.similarity.SimilarityArrays.packed as .npz; "" once a newer report replaced it.
    arrays = models.FileField(
        storage=private_storage_for_fields, upload_to=_similarity_path, blank=True,
        max_length=300, editable=False,
    )
    arrays_bytes = models.PositiveBigIntegerField(default=0, editable=False)
    # [{"attribute", "group", "n"}] in the file's group order: the page's subgroup choices and
    # the sizes its suppression rule needs, without opening the file.
    groups = models.JSONField(default=list)
    # What the matrices depend on besides the entries (see competitions/worker/similarity.py):
    # the next update reuses them only if it is unchanged.
    basis = models.JSONField(default=dict)
    mean_error_consistency = models.FloatField(null=True, blank=True)
    # Entry indices in hierarchical-clustering order, for the heatmap.
    order = models.JSONField(default=list)
    # [[x, y], ...] per entry: MDS on 1 - error consistency (close points fail on the same cases).
    positions = models.JSONField(default=list)
    # [{"first": i, "second": j, "value": ec}]: cross-team pairs at or above the review threshold.
    flagged = models.JSONField(default=list)
    flag_threshold = models.FloatField(null=True, blank=True)
    # Matrix rows computed for this report (the rest came from the previous report): the number
    # of entries after a full recompute, the new ones after an incremental update.
    rows_computed = models.PositiveIntegerField(default=0)
    # scoring.field_report.field_ensembles_report: {"ensembles": [...]}; {} when not computed.
    ensembles = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-computed_at"]
        indexes = [models.Index(fields=["phase", "split", "computed_at"])]

    def __str__(self) -> str:
        return f"Similarity of {self.phase} ({self.split}) at {self.computed_at:%Y-%m-%d %H:%M}"


def _report_path(instance: PhaseReport, filename: str) -> str:
    # A generated name: the organisers' report holds every value, so no one guesses its key.
    return f"reports/{instance.phase_id}/{uuid.uuid4().hex}-{filename}"


class PhaseReport(models.Model):
    """The challenge report of a phase (``competitions.report``), built once by a worker for one
    audience and one state of the phase, and served from storage until that state changes.

    ``snapshot_version`` is the newest leaderboard snapshot's version when the report was asked
    for; ``inputs`` is a digest of everything else the report reads (settings, the end and the
    publication of scores, snapshot times, the intervals and comparisons added to them, the
    similarity report, team names): a report whose key is not the phase's current key is stale
    and a new one is built (``competitions.report.keys``). The files sit in the private storage
    (S3 in production): the organisers' report holds every value, exactly.
    """

    class Audience(models.TextChoices):
        ORGANISERS = "organisers", _("Organisers (every value)")
        PUBLIC = "public", _("Public (released values only)")

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="reports")
    audience = models.CharField(max_length=12, choices=Audience)
    snapshot_version = models.PositiveIntegerField(default=0)
    inputs = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status, default=Status.BUILDING)
    # What the worker is doing now (shown on the progress page), or why it failed.
    step = models.CharField(max_length=120, blank=True)
    message = models.CharField(max_length=500, blank=True)
    # The organiser whose request started the build: the organisers' report is built as they
    # see the phase (re-checked by the worker); the public one as a visitor who is not signed in.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Worker runs that took the build (a run that died leaves it building; the sweeper sends it
    # again or, past REPORT_MAX_ATTEMPTS, fails it with a message).
    attempts = models.PositiveSmallIntegerField(default=0)
    html = models.FileField(storage=private_storage_for_fields, upload_to=_report_path,
                            blank=True, max_length=300)
    pdf = models.FileField(storage=private_storage_for_fields, upload_to=_report_path,
                           blank=True, max_length=300)
    # The full tables (every entry; the PDF shows the first 30) as CSV files in one ZIP.
    tables = models.FileField(storage=private_storage_for_fields, upload_to=_report_path,
                              blank=True, max_length=300)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phase", "audience", "snapshot_version", "inputs"],
                name="one_report_per_phase_audience_state",
            ),
            models.CheckConstraint(condition=Q(audience__in=["organisers", "public"]),
                                   name="phase_report_audience_valid"),
            models.CheckConstraint(condition=Q(status__in=["building", "ready", "failed"]),
                                   name="phase_report_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Report of {self.phase} for {self.audience} ({self.status})"


RANKING_LABELS = {
    "primary": _("Primary column"),
    "mean_rank": _("Mean rank over the ranked columns"),
    "median_rank": _("Median rank over the ranked columns"),
    "worst_group": _("Worst subgroup of the primary column"),
    "rank_then_aggregate": _("Rank on every case, then average"),
    "pareto": _("Pareto layers over the ranked columns"),
    "floor_then_primary": _("Entries meeting every minimum rate first, then the primary column"),
}
# What each rule's score is, as the leaderboard's column header names it.
RANKING_SCORE_LABELS = {
    "primary": _("Value"),
    "mean_rank": _("Mean rank"),
    "median_rank": _("Median rank"),
    "worst_group": _("Worst-group value"),
    "rank_then_aggregate": _("Mean rank over cases"),
    "pareto": _("Pareto layer"),
    "floor_then_primary": _("Value (floors met first)"),
}


class Leaderboard(models.Model):
    """One ranking of a phase's teams: its columns, its rule and which submission of a team counts.

    A phase may have several (the primary ranking, a worst-group ranking, a per-case ranking); the
    primary one decides the counting submission used elsewhere (similarity, research exports).
    """

    # The rules are scoring's (scoring.vocabulary.RULES); only the labels are the web's.
    Ranking = models.TextChoices(
        "Ranking",
        [(rule.upper(), (rule, RANKING_LABELS[rule])) for rule in RULES],
        module=__name__,
        qualname="Leaderboard.Ranking",
    )

    class Counting(models.TextChoices):
        BEST = "best", _("The team's best on the first ranked column")
        LATEST = "latest", _("The team's latest scored submission")
        CHOSEN = "chosen", _("The one the team picks (else its best)")

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="leaderboards")
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text=_("Shown above the table. Markdown."))
    ranking = models.CharField(max_length=24, choices=Ranking, default=Ranking.PRIMARY)
    worst_group_on = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("For the worst-group rule: the attribute whose worst group ranks."),
    )
    counting = models.CharField(max_length=8, choices=Counting, default=Counting.BEST)
    is_primary = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    robustness_resamples = models.PositiveIntegerField(
        default=1000, help_text=_("Bootstrap resamples for rank intervals (0 turns them off).")
    )
    robustness_seed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["phase", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "slug"], name="leaderboard_slug_unique"),
            models.UniqueConstraint(
                fields=["phase"], condition=Q(is_primary=True), name="one_primary_leaderboard"
            ),
            models.CheckConstraint(
                condition=Q(robustness_resamples__lte=10000), name="robustness_resamples_bounded"
            ),
            models.CheckConstraint(
                condition=~Q(ranking="worst_group") | ~Q(worst_group_on=""),
                name="worst_group_rule_names_attribute",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phase}: {self.name}"


class LeaderboardColumn(models.Model):
    """A metric on a population: ``auroc``, ``sensitivity@sex=female``,
    ``sensitivity@worst(sex)``."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="columns")
    column_id = models.CharField(
        max_length=128,
        help_text=_("Metric id, with @attribute=group or @worst(attribute) for a population."),
    )
    title = models.CharField(max_length=80, blank=True, help_text=_("Header; default: the id."))
    ranked = models.BooleanField(default=True)
    shown = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["leaderboard", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "column_id"], name="leaderboard_column_unique"
            ),
            models.CheckConstraint(
                condition=Q(shown=True) | Q(ranked=False), name="ranked_column_is_shown"
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.column_id

    @property
    def header(self) -> str:
        return self.title or self.column_id


class LeaderboardSnapshot(models.Model):
    """A leaderboard as the worker last computed it on one split, read by the page, API and export.

    Computing it (ranks from stored results, then bootstrap robustness from the per-case arrays)
    is too heavy for a request with a thousand entries; reading it is one row. The row is
    replaced in place by each new ranking (``computed_at`` tells them apart) and its analyses
    start over as pending.
    """

    leaderboard = models.ForeignKey(
        Leaderboard, on_delete=models.CASCADE, related_name="snapshots"
    )
    split = models.CharField(max_length=16, choices=SPLIT_CHOICES)
    computed_at = models.DateTimeField(default=timezone.now)
    # The phase's leaderboard_version when the field was read for this snapshot.
    version = models.PositiveIntegerField(default=0)
    # [{"submission": id, "team": id, "rank": int, "score": float|None,
    #   "values": {column id: {"value", "ci", "n", "small", "suppressed", "group"}},
    #   "median_rank", "rank_interval", "p_first", "tied_with_above", "suppressed"}] in rank
    #   order ("suppressed": the board ranks on a withheld group, so rank and score are withheld
    #   too).
    rows = models.JSONField(default=list)
    # {"what_if": [{"column", "winners": [team ids], "suppressed"}], "columns": [ids],
    #  "correlation": [[tau]], "suppressed_columns": [ids], "panel": {...},
    #  "significance": {"column", "metric", "test", "alpha", "family", "entries", "pairs", ...}}:
    # who would win on each ranked column alone, how alike the columns' rankings are, how the
    # ranking moves with the rule, and which entries differ significantly on the first ranked
    # column (competitions.worker.significance).
    summary = models.JSONField(default=dict, blank=True)
    # {metric: {submission id: {"attribute=group": cell}}} for every metric of the board's
    # columns: the results page's entries x subgroups heatmap and the per-group columns.
    groups = models.JSONField(default=dict, blank=True)
    # Bootstrap rank robustness: Kendall tau, rank distributions for the blob plot.
    robustness = models.JSONField(null=True, blank=True)
    robustness_note = models.CharField(max_length=300, blank=True)

    class Analysis(models.TextChoices):
        """The field's analyses of this snapshot (rank intervals, paired tests): computed on the
        field queue after the ranking is stored (competitions.worker.analyses), once per
        snapshot; pages say "being computed" while pending."""

        PENDING = "pending", _("being computed")
        DONE = "done", _("computed")

    analysis = models.CharField(max_length=8, choices=Analysis.choices, default=Analysis.PENDING)
    # When the analyses were last asked for (the refresh, or the sweeper asking again for a
    # lost message), when a field worker took them, and when they were stored.
    analysis_requested_at = models.DateTimeField(null=True, blank=True)
    analysis_started_at = models.DateTimeField(null=True, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "split"], name="one_snapshot_per_leaderboard_split"
            )
        ]
        indexes = [models.Index(fields=["analysis"], name="snapshot_analysis_state")]

    def __str__(self) -> str:
        return f"{self.leaderboard} ({self.split}) at {self.computed_at:%Y-%m-%d %H:%M}"


class RosterEntry(models.Model):
    """A student of a course (a challenge run for a class), imported from the teacher's CSV.

    The invitation link carries ``token``; opening it signed in (any account: the student may
    sign up with another address) ties the entry to that account, which then joins the
    challenge after accepting its rules. ``lms_id`` is the student's id in the teacher's
    learning platform (Canvas's user ID), written back into the gradebook export."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="roster")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    lms_id = models.CharField(max_length=100, blank=True)
    section = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="roster_entries",
    )
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invited_at = models.DateTimeField(null=True, blank=True)
    # How many invitations went out (a resend is one more); names the e-mail's key.
    invitations = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["section", "email"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "email"], name="roster_email_unique"),
            models.UniqueConstraint(
                fields=["challenge", "user"], condition=Q(user__isnull=False),
                name="roster_one_entry_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.challenge}"


class GradeRule(models.Model):
    """How a phase's standing becomes a course grade: one rule per phase, set by its teachers.

    ``steps`` is a list of ``[bound, points]``: a student gets the points of the first step
    their team reaches — a score at least ``bound`` (at most, for a metric where lower is
    better), a rank at most ``bound``, or (``submitted``) a scored submission at all — else
    ``otherwise``."""

    class Basis(models.TextChoices):
        SCORE = "score", _("Score thresholds on the primary board's first ranked column")
        SUBMITTED = "submitted", _("Points for having a scored submission, whatever its rank")
        RANK = "rank", _("Rank thresholds on the primary board")

    phase = models.OneToOneField(Phase, on_delete=models.CASCADE, related_name="grade_rule")
    item = models.CharField(
        max_length=100, help_text=_("The grade item's name in the learning platform.")
    )
    lms_item_id = models.CharField(
        max_length=40, blank=True,
        help_text=_("Canvas: the assignment's id, shown in its address; empty: a new one."),
    )
    basis = models.CharField(max_length=10, choices=Basis, default=Basis.SCORE)
    steps = models.JSONField(default=list, blank=True)
    otherwise = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"Grades of {self.phase}"
