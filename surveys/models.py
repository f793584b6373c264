"""Studies, versioned consent, surveys, answers, design arms and the export log.

The data model is described in docs/studies.md. Invariants are constraints in the database: one
decision row per (user, study, version, item) change is never overwritten (decisions are an
append-only history), one response per participant and survey, one answer per question (and grid
row) in a response, one arm per participant and study.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.analysis import SMALL_CELL_THRESHOLD
from surveys.naming import (
    MAX_LABEL,
    export_name_problem,
    validate_code,
    validate_label,
    validate_name,
)


def _new_secret() -> str:
    return secrets.token_hex(32)


INTERVIEW_BODY = _(
    "You agreed to be contacted for an interview by the study “{study}”. We would like to talk "
    "with you for about 30 minutes, online, about how you took part in {challenge}.\n\n"
    "Please tell us on the page linked below whether you would like to take part. Saying no, "
    "or not answering, changes nothing in the competition."
)


class Study(models.Model):
    """A research study attached to one challenge, or site-wide when ``challenge`` is empty."""

    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text=_("Markdown, shown to participants."))
    challenge = models.ForeignKey(
        "competitions.Challenge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="studies",
        help_text=_("Empty for a site-wide study."),
    )
    linked_phase = models.ForeignKey(
        "competitions.Phase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Whose leaderboard the exported rank band refers to (default: the last)."),
    )
    researchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="researched_studies", blank=True
    )
    keep_answers_after_withdrawal = models.BooleanField(
        default=False,
        help_text=_(
            "If set, answers given before a participant withdraws research consent are kept "
            "(the consent page says so); otherwise they are deleted at withdrawal."
        ),
    )
    ethics_approval = models.CharField(
        max_length=300,
        blank=True,
        help_text=_(
            "The committee and reference that approved the study (e.g. “University Research "
            "Ethics Committee, ref. 2026/117”). Needed to keep answers after withdrawal: the "
            "consent form and the withdrawal page name it with the legal basis."
        ),
    )
    retention_until = models.DateField(
        help_text=_("After this day a scheduled task deletes the study's research answers.")
    )
    answers_deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Keys the pseudonyms (HMAC): never shown, never exported.
    pseudonym_secret = models.CharField(max_length=64, default=_new_secret, editable=False)
    assignment_seed = models.PositiveIntegerField(
        default=0, help_text=_("Seeds the random, balanced assignment to design arms.")
    )
    # The study's one small-cell threshold (docs/studies.md, "Re-identification controls" and
    # "The study page"): the export's k, the funnel's and the summaries' small cells.
    export_min_group = models.PositiveSmallIntegerField(
        _("small-cell threshold"),
        default=SMALL_CELL_THRESHOLD,
        validators=[MinValueValidator(2)],
        help_text=_(
            "Smallest group the study lets stand, everywhere: on the study page a count of "
            "fewer people (in the answer summaries, the funnel and retention) is withheld, and "
            "so are cells that would give it away by subtraction; in the export a participant "
            "whose combination of quasi-identifiers (joined week, team size, submissions, rank "
            "band, arm, demographic answers) is shared by fewer people has values withheld "
            "until it is not."
        ),
    )
    export_exact_joined_at = models.BooleanField(
        default=False,
        help_text=_("Export the join time to the second instead of the ISO week."),
    )
    export_exact_team_size = models.BooleanField(
        default=False, help_text=_("Export the team's number of members instead of 1 / 2+.")
    )
    export_exact_submissions = models.BooleanField(
        default=False, help_text=_("Export the number of submissions instead of its band.")
    )
    # The interview invitation (docs/studies.md, "Interviews"), edited on the interviews page.
    interview_subject = models.CharField(
        max_length=200, default=_("An interview about taking part in {challenge}")
    )
    interview_body = models.TextField(default=INTERVIEW_BODY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(export_min_group__gte=2), name="study_export_min_group_at_least_2"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # Keeping answers after a withdrawal rests on GDPR Art. 17(3)(d) with the safeguards of
        # Art. 89, which an ethics approval documents; without one the answers must go.
        if self.keep_answers_after_withdrawal and not self.ethics_approval.strip():
            raise ValidationError(
                {
                    "ethics_approval": _(
                        "Name the ethics approval: answers kept after withdrawal need it."
                    )
                }
            )

    @property
    def export_exact_fields(self) -> list[str]:
        """The linked-activity variables this study exports finer than the default."""
        return [
            name
            for name, on in (
                ("joined_at", self.export_exact_joined_at),
                ("team_size", self.export_exact_team_size),
                ("n_submissions", self.export_exact_submissions),
            )
            if on
        ]


class ConsentItem(models.TextChoices):
    """The separate decisions a consent document asks for. Every one is optional and none is
    needed to take part in the challenge (GDPR Art. 7(4)): ``participate`` lets the study offer
    its surveys and place the person in a design arm; the others keep their own meaning."""

    PARTICIPATE = "participate", _("Taking part in the study (its surveys and experiment)")
    RESEARCH = "research", _("Research use of my survey answers")
    LINKING = "linking", _("Linking my survey answers to my competition activity")
    SPECIAL = "special", _("Special-category data (e.g. ethnicity, disability)")
    CONTACT = "contact", _("Being contacted for an interview")


class ConsentVersion(models.Model):
    """One version of a study's consent document. The highest published version is current."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consent_versions")
    version = models.PositiveIntegerField()
    text = models.TextField(help_text=_("Markdown, in plain language."))
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["study", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="consent_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="consent_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug} consent v{self.version}"


class ConsentDecision(models.Model):
    """A decision on one item under one version, at one time. Never updated: a change is a row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_decisions"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="decisions")
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=16, choices=ConsentItem)
    agreed = models.BooleanField()
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "pk"]
        indexes = [models.Index(fields=["study", "user", "item", "decided_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(item__in=ConsentItem.values), name="consent_item_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.item}={self.agreed} (v{self.version.version})"


class Arm(models.Model):
    """A design arm of a study's experiment: which of a phase's leaderboards its members see."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="arms")
    slug = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    leaderboards = models.ManyToManyField(
        "competitions.Leaderboard",
        blank=True,
        related_name="design_arms",
        help_text=_(
            "The leaderboards this arm's members see, per phase. A phase with none listed here "
            "shows them all."
        ),
    )

    class Meta:
        ordering = ["study", "slug"]
        constraints = [models.UniqueConstraint(fields=["study", "slug"], name="arm_slug_unique")]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.name}"


class ArmAssignment(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="arm_assignments"
    )
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="assignments")
    # Position in the study's assignment sequence: with the seed, it determines the arm.
    sequence = models.PositiveIntegerField()
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="one_arm_per_study"),
            models.UniqueConstraint(
                fields=["study", "sequence"], name="assignment_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.arm}"


class Survey(models.Model):
    """One version of a questionnaire. Once it has responses its questions are frozen: a change
    makes a new version (same slug, version + 1)."""

    class Trigger(models.TextChoices):
        JOIN = "join", _("When a participant joins the challenge (pre-survey)")
        PHASE_END = "phase_end", _("After a phase ends (post-survey, with an e-mail and notice)")
        LINK = "link", _("By link only")

    # What a response means; frozen once there is one (``clean``).
    FROZEN_FIELDS = ("study", "slug", "title", "intro", "trigger", "phase")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="surveys")
    slug = models.CharField(
        max_length=10,
        validators=[validate_name],
        help_text=_(
            "Prefix of the survey's columns in exports: a letter, then letters, digits, _."
        ),
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    title = models.CharField(max_length=200)
    intro = models.TextField(blank=True, help_text=_("Markdown, shown above the first page."))
    trigger = models.CharField(max_length=16, choices=Trigger, default=Trigger.LINK)
    phase = models.ForeignKey(
        "competitions.Phase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For a post-survey: the phase whose end triggers it."),
    )
    opens_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["study", "slug", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "slug", "version"], name="survey_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="survey_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=~Q(trigger="phase_end") | Q(phase__isnull=False),
                name="post_survey_has_phase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    def save(self, *args, **kwargs) -> None:
        fields = kwargs.get("update_fields")
        if fields is None or {name.removesuffix("_id") for name in fields} & set(
            self.FROZEN_FIELDS
        ):
            self._refuse_frozen_fields_change()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self._refuse_frozen_fields_change()

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.opens_at <= at < self.closes_at

    @property
    def is_frozen(self) -> bool:
        """Whether the questions may no longer change in place (someone has answered)."""
        return self.pk is not None and self.responses.exists()

    def _refuse_frozen_fields_change(self) -> None:
        """What a response means — the questionnaire's identity, its introduction, whom it
        asks — is frozen with it; when it is open (``opens_at``, ``closes_at``) is not, so an
        answered survey can still be extended or closed early."""
        if self.pk is None:
            return
        stored = Survey.objects.filter(pk=self.pk).first()
        attnames = [self._meta.get_field(name).attname for name in self.FROZEN_FIELDS]
        if stored is not None and any(
            getattr(self, name) != getattr(stored, name) for name in attnames
        ):
            _refuse_if_frozen(stored)


def _refuse_if_frozen(survey: Survey) -> None:
    """Questions of a survey with responses may not change in place (codes would mean two
    things in one export); a change makes a new version. The error's code (``frozen``) and
    ``survey`` parameter let a form link to that action."""
    if survey.is_frozen:
        raise ValidationError(
            _("“%(survey)s” has responses: make a new version to change its questions."),
            code="frozen",
            params={"survey": survey},
        )


def _refuse_frozen_change(part: SurveyPart) -> None:
    """Refuse to add, change or move ``part`` (a page, question, option or grid row) in a
    survey with responses — the one it belongs to now or the one it was saved in. Saving it
    unchanged is allowed, so a form that shows a frozen part alongside others still saves."""
    model = type(part)
    stored = model.objects.filter(pk=part.pk).first() if part.pk is not None else None
    if stored is not None and all(
        getattr(part, f.attname) == getattr(stored, f.attname) for f in model._meta.concrete_fields
    ):
        return
    for survey in {_survey_of(part), _survey_of(stored)}:
        if survey is not None:
            _refuse_if_frozen(survey)


def _survey_of(part: SurveyPart | None) -> Survey | None:
    """The survey ``part`` belongs to (``None`` before a form has chosen its parent)."""
    if isinstance(part, Section):
        return part.survey if part.survey_id else None
    if isinstance(part, Question):
        return part.section.survey if part.section_id else None
    if isinstance(part, Option | GridRow):
        return part.question.section.survey if part.question_id else None
    return None


class SurveyPart(models.Model):
    """A page, question, option or grid row: none may be added, changed or moved in place
    once its survey has responses (refused in ``clean()``, so forms show it, and in
    ``save()``, so nothing else gets past)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        _refuse_frozen_change(self)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        _refuse_frozen_change(self)


class Section(SurveyPart):
    """A page of a survey; answers are saved page by page."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["survey", "position", "pk"]

    def __str__(self) -> str:
        # Names its survey and version: two versions' pages are otherwise alike in a choice.
        return f"{self.survey}: {self.title}"


class Question(SurveyPart):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        LIKERT = "likert", _("Likert item")
        GRID = "grid", _("Likert grid")
        NUMBER = "number", _("Number")
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")

    CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.LIKERT, Kind.GRID)
    TEXT_KINDS = (Kind.SHORT_TEXT, Kind.LONG_TEXT)

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=Kind)
    variable = models.CharField(max_length=32, validators=[validate_name])
    label = models.CharField(
        max_length=MAX_LABEL, validators=[validate_label], help_text=_("Variable label.")
    )
    text = models.TextField(help_text=_("The question as participants read it."))
    help_text = models.CharField(max_length=300, blank=True)
    required = models.BooleanField(default=False)
    prefer_not_to_say = models.BooleanField(default=True)
    randomise_options = models.BooleanField(default=False)
    reverse_coded = models.BooleanField(default=False)
    special_category = models.BooleanField(
        default=False, help_text=_("Exported only for participants who gave explicit consent.")
    )
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    whole_number = models.BooleanField(
        default=False,
        help_text=_(
            "A number question that takes whole numbers only (a count): exported as an integer."
        ),
    )
    ordered = models.BooleanField(
        default=False,
        help_text=_(
            "The options of a single choice are in order (e.g. age bands): exported as "
            "ordinal. Likert items and grids are always ordinal."
        ),
    )
    quasi_identifier = models.BooleanField(
        default=False,
        help_text=_(
            "A demographic answer that, combined with others, could single a person "
            "out: counted in the export's smallest-group check and withheld in groups "
            "that are too small."
        ),
    )
    show_if_question = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependants"
    )
    show_if_codes = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Show only if the earlier question's answer is one of these codes, e.g. 1,2."),
    )

    class Meta:
        ordering = ["section__position", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.section.survey}: {self.variable}"

    @property
    def survey(self) -> Survey:
        return self.section.survey

    @property
    def is_text(self) -> bool:
        return self.kind in self.TEXT_KINDS

    @property
    def condition_codes(self) -> set[int]:
        return {int(c) for c in self.show_if_codes.replace(" ", "").split(",") if c}

    def clean(self) -> None:
        super().clean()
        problems = {}
        if self.show_if_question_id and not self.show_if_codes.strip():
            problems["show_if_codes"] = _("List the codes that make this question show.")
        try:
            self.condition_codes  # noqa: B018 (parsing is the check)
        except ValueError:
            problems["show_if_codes"] = _("Codes are whole numbers separated by commas.")
        if self.show_if_question_id and self.section_id:
            earlier = self.show_if_question.section
            if earlier.survey_id != self.section.survey_id or earlier.position >= (
                self.section.position
            ):
                problems["show_if_question"] = _(
                    "A condition may only refer to a question on an earlier page of this survey."
                )
        if self.ordered and self.randomise_options:
            problems["randomise_options"] = _("Ordered options cannot be shown in random order.")
        if self.minimum is not None and self.maximum is not None and self.minimum >= self.maximum:
            problems["maximum"] = _("The maximum must be above the minimum.")
        if self.section_id and self.variable:
            problem = _variable_problem(self.section.survey, self.variable, self)
            if problem:
                problems["variable"] = problem
        if problems:
            raise ValidationError(problems)


def _variable_problem(survey: Survey, variable: str, owner: models.Model) -> str | None:
    """A variable must be unique in its survey (over questions and grid rows) and short enough
    for the prefixed export names."""
    questions = Question.objects.filter(section__survey=survey, variable__iexact=variable)
    rows = GridRow.objects.filter(question__section__survey=survey, variable__iexact=variable)
    if isinstance(owner, Question):
        questions = questions.exclude(pk=owner.pk)
    else:
        rows = rows.exclude(pk=owner.pk)
    if questions.exists() or rows.exists():
        return _("This survey already has a variable “%(v)s”.") % {"v": variable}
    return export_name_problem(survey.slug, survey.version, variable)


class Option(SurveyPart):
    """A choice (or a Likert grid's scale point) with its integer code."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=1)
    code = models.IntegerField(validators=[validate_code])
    label = models.CharField(max_length=MAX_LABEL, validators=[validate_label])
    self_describe = models.BooleanField(
        default=False, help_text=_("Chosen with a free-text description (e.g. gender).")
    )

    class Meta:
        ordering = ["question", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="option_code_unique"),
            models.CheckConstraint(
                condition=~Q(code__in=[-97, -98, -99]), name="option_code_not_missing_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} = {self.label}"


class GridRow(SurveyPart):
    """One item of a Likert grid, with a variable of its own."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField(default=1)
    variable = models.CharField(max_length=32, validators=[validate_name])
    label = models.CharField(max_length=MAX_LABEL, validators=[validate_label])
    text = models.CharField(max_length=300)
    reverse_coded = models.BooleanField(default=False)

    class Meta:
        ordering = ["question", "position", "pk"]

    def __str__(self) -> str:
        return self.variable

    def clean(self) -> None:
        super().clean()
        if self.question_id and self.variable:
            problem = _variable_problem(self.question.section.survey, self.variable, self)
            if problem:
                raise ValidationError({"variable": problem})


class Response(models.Model):
    """One participant's answers to one survey version; editable until the survey closes."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_responses"
    )
    consent_version = models.ForeignKey(
        ConsentVersion, on_delete=models.PROTECT, related_name="+", null=True
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The furthest page the participant has seen (1-based); later pages count as not shown.
    pages_seen = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="one_response_per_survey")
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey}"


class Answer(models.Model):
    """An answer to one question (or one row of a grid). ``declined`` is "prefer not to say"."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    row = models.ForeignKey(
        GridRow, on_delete=models.PROTECT, null=True, blank=True, related_name="answers"
    )
    codes = models.JSONField(default=list, blank=True)
    number = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    declined = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"],
                condition=Q(row__isnull=True),
                name="one_answer_per_question",
            ),
            models.UniqueConstraint(
                fields=["response", "question", "row"],
                condition=Q(row__isnull=False),
                name="one_answer_per_grid_row",
            ),
        ]

    def __str__(self) -> str:
        return f"Answer to {self.row or self.question} in response {self.response_id}"


class SurveyNotice(models.Model):
    """A site notice (and an e-mail) that a post-survey is waiting for a participant."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_notices"
    )
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="one_notice_per_survey")
        ]

    def __str__(self) -> str:
        return f"{self.survey} for {self.user}"


class ExportLog(models.Model):
    """Who exported (or looked at) which study's individual data when, and how many rows:
    every export, contact list and page of the response browser writes one."""

    class Via(models.TextChoices):
        WEB = "web", _("Export download")
        COMMAND = "command", _("Export command")
        CONTACTS = "contacts", _("Contact list")
        BROWSE = "browse", _("Responses viewed")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="exports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    via = models.CharField(max_length=16, choices=Via)
    at = models.DateTimeField(default=timezone.now)
    rows = models.PositiveIntegerField()
    # What the export released: the finer fields the study opted into, the smallest group over
    # its quasi-identifiers after suppression and the threshold it was held to.
    exact_fields = models.JSONField(default=list, blank=True)
    k = models.PositiveIntegerField(null=True, blank=True)
    min_group = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.study.slug} exported by {self.user} ({self.via}, {self.rows} rows)"


class StudyEvent(models.Model):
    """The study's audit log: a withdrawal, with what it did (items withdrawn, responses deleted
    or kept, notices removed); interview samples, invitations and status changes. Written by
    the services, never edited."""

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal", _("Consent withdrawn")
        INTERVIEW_SAMPLE = "interview_sample", _("Interview sample drawn")
        INTERVIEW_INVITE = "interview_invite", _("Interview invitation sent")
        INTERVIEW_STATUS = "interview_status", _("Interview status changed")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="events")
    # Kept, without a person, if the account is deleted: the log shows the withdrawal happened.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind)
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["study", "user", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.get_kind_display()} by {self.user} at {self.at:%Y-%m-%d}"


class InterviewSample(models.Model):
    """One stratified draw from the people who agreed to interview contact: by arm × the group
    of ``variable`` (empty: by arm only), ``per_stratum`` from each, with ``seed`` (the same
    seed over the same people draws the same sample). ``strata`` keeps the sizes shown."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="interview_samples")
    variable = models.CharField(max_length=80, blank=True)
    per_stratum = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    seed = models.PositiveBigIntegerField()
    strata = models.JSONField(default=list)  # [{"arm", "group", "eligible", "drawn"}]
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    drawn_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-drawn_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(per_stratum__gte=1), name="interview_sample_per_stratum_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.study.slug} interview sample of {self.drawn_at:%Y-%m-%d}"


class Interview(models.Model):
    """One person drawn for an interview and where it stands. Removed when the person withdraws
    interview contact or the study; seen by the study's researchers only."""

    class Status(models.TextChoices):
        DRAWN = "drawn", _("drawn, not yet invited")
        INVITED = "invited", _("invited")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        DONE = "done", _("interviewed")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="interviews")
    sample = models.ForeignKey(
        InterviewSample, on_delete=models.CASCADE, related_name="interviews"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    arm = models.CharField(max_length=120, blank=True)
    group = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAWN)
    invited_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["arm", "group", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="interview_once_per_person"),
            models.CheckConstraint(
                condition=Q(status="drawn") | Q(invited_at__isnull=False),
                name="interview_invited_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.user} ({self.status})"
