"""Build the demo: accounts, a challenge on the flchain cohort, a team, and scored submissions.

Idempotent: every object is found by its natural key before it is created, so running it twice
leaves one of each. Submissions are queued for the worker, which scores them.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from competitions import hooks, services
from competitions.demo_data import (
    BASELINE_DESCRIPTION,
    baseline_predictions,
    demo_predictions,
    load_demo_data,
)
from competitions.models import (
    Challenge,
    DataFile,
    Leaderboard,
    LeaderboardColumn,
    Participant,
    Phase,
    Submission,
)
from competitions.roles import ORGANISERS_GROUP, ensure_organiser_group

DEMO_PASSWORD = "cheetah-demo"
CHALLENGE_SLUG = "flchain-mortality"

ACCOUNTS = [
    # username, display name, role
    ("admin", "Site admin", "superuser"),
    ("organiser", "Dr Organiser", "organiser"),
    ("researcher", "Dr Researcher", "researcher"),
    ("alice", "Alice", "participant"),
    ("bob", "Bob", "participant"),
    ("carol", "Carol", "participant"),
    ("dave", "Dave", "participant"),
    ("erin", "Erin", "participant"),
]

OVERVIEW = """\
Predict who dies during follow-up from a blood test: serum **free light chains** (kappa and
lambda), creatinine and age, in 7,874 residents of Olmsted County, Minnesota.

The data are the `flchain` cohort (Dispenzieri et al., *Mayo Clinic Proceedings* 2012), public
through the R package *survival*. Half of the patients are for training, half for testing.

Cheetah scores every submission overall **and** for women and men, for four age bands and by
kidney function, with 95% intervals: a model that misses deaths in one group shows it here.
"""

RULES = """\
1. Submit a probability of death for every test case (`case_id,score`).
2. Up to 10 submissions a day per team; teams of at most 3.
3. Do not try to identify patients.
"""

DATA_DESCRIPTION = """\
* `train.csv`: features and `label` (1 = died during follow-up) for the training half.
* `test_features.csv`: the same features, without labels, for the cases you predict.

Features: `age` (years), `sex`, `kappa` and `lambda` (free light chains, mg/L), `creatinine`
(mg/dL; missing for some), `mgus` (1 = monoclonal gammopathy), `sample_yr`.
"""


DEMO_LEADERBOARDS = (
    ("multi-metric", "Many metrics, subgroup-aware", "mean_rank", "", (
        ("auroc", True), ("sensitivity", True), ("specificity", True),
        ("sensitivity@worst(sex)", True), ("sensitivity@worst(age_band)", False),
    )),
    ("worst-sex", "Worst sex group", "worst_group", "sex", (
        ("sensitivity", True), ("sensitivity@sex=female", False), ("sensitivity@sex=male", False),
    )),
    ("floors-first", "AUROC floor first", "floor_then_primary", "", (
        ("sensitivity", True), ("auroc", False), ("auroc@worst(age_band)", False),
    )),
)
# The demo's floor: an AUROC of at least 0.58 in every group of every attribute. Two of the four
# entries reach it (the youngest age band is where the others fall short), so the leaderboards
# show who meets it; a sensitivity floor at the 0.5 threshold would be met by none, as the
# 50–59 band's few deaths are almost never scored above 0.5.
DEMO_FLOORS = {"auroc": 0.58}
BASELINE_TEAM = "Organisers' baseline"


def demo_key() -> bytes:
    """The secret that keys the demo's case ids and splits: made at the first seeding, kept
    under ``var/`` so that seeding again (or finishing an interrupted seed) uses the same."""
    path = settings.VAR_DIR / "demo.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


class Command(BaseCommand):
    help = "Create the demo challenge, accounts and submissions (safe to run again)."

    def handle(self, *args, **options) -> None:
        ensure_organiser_group()
        users = self._accounts()
        data = load_demo_data(key=demo_key())
        with transaction.atomic():
            challenge, phase = self._challenge(users["organiser"], data)
        self._team_and_submissions(challenge, phase, users, data)
        hooks.demo_seeded.send(sender=self.__class__, challenge=challenge)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(demo_logins_text())

    def _accounts(self) -> dict[str, User]:
        users = {}
        organisers = Group.objects.get(name=ORGANISERS_GROUP)
        for username, display, role in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"display_name": display, "email": f"{username}@example.org"},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = role in ("superuser", "organiser", "researcher")
                user.is_superuser = role == "superuser"
                user.save()
            if role == "organiser":
                user.groups.add(organisers)
            users[username] = user
        return users

    def _challenge(self, organiser: User, data) -> tuple[Challenge, Phase]:
        challenge, _created = Challenge.objects.get_or_create(
            slug=CHALLENGE_SLUG,
            defaults={
                "title": "Mortality from free light chains (flchain)",
                "summary": "Who dies during follow-up? Scored overall and for women, men, "
                "age bands and kidney function.",
                "overview": OVERVIEW,
                "rules": RULES,
                "data_description": DATA_DESCRIPTION,
                "status": Challenge.Status.PUBLISHED,
                "access": Challenge.Access.PUBLIC,
                "max_team_size": 3,
                # Illustrative, so the Compute page shows CO2e; organisers set their grid's value.
                "grid_intensity": 300.0,
            },
        )
        challenge.organisers.add(organiser)
        for title, filename, frame in (
            ("Training data", "train.csv", data.train),
            ("Test features", "test_features.csv", data.test_features),
        ):
            if not challenge.data_files.filter(filename=filename).exists():
                data_file = DataFile(challenge=challenge, title=title, filename=filename)
                data_file.file.save(
                    filename, ContentFile(frame.to_csv(index=False).encode()), save=False
                )
                data_file.save()
        now = timezone.now()
        phase = Phase.objects.filter(challenge=challenge, slug="test").first() or (
            services.phase_create(
                challenge=challenge,
                slug="test",
                name="Test phase",
                start=now - timedelta(days=7),
                end=now + timedelta(days=60),
                submissions_per_day=10,
                submissions_total=100,
                threshold=0.5,
                primary_metric="auroc",
            )
        )
        if not phase.ground_truth:
            truth_csv = data.truth.to_csv(index=False).encode()
            services.truth_upload(phase=phase, upload=ContentFile(truth_csv, name="truth.csv"))
        if not phase.floors:
            phase.floors = DEMO_FLOORS
            phase.save()
        self._leaderboards(phase)
        return challenge, phase

    def _leaderboards(self, phase: Phase) -> None:
        """Beside the default AUROC ranking: a multi-metric one and one on the worst sex."""
        for slug, name, ranking, worst_on, columns in DEMO_LEADERBOARDS:
            board, created = Leaderboard.objects.get_or_create(
                phase=phase, slug=slug,
                defaults={"name": name, "ranking": ranking, "worst_group_on": worst_on,
                          "order": len(phase.leaderboards.all())},
            )
            if created:
                LeaderboardColumn.objects.bulk_create(
                    LeaderboardColumn(leaderboard=board, column_id=column_id, ranked=ranked,
                                      order=order)
                    for order, (column_id, ranked) in enumerate(columns)
                )

    def _team_and_submissions(self, challenge, phase, users, data) -> None:
        for username in ("alice", "bob", "carol", "dave", "erin"):
            services.participant_join(challenge=challenge, user=users[username], accept_rules=True)
        alice = Participant.objects.get(challenge=challenge, user=users["alice"])
        if alice.team.name != "Light Chain Gang":
            team = services.team_create(participant=alice, name="Light Chain Gang")
            services.team_join(team=team, user=users["bob"], accept_rules=True)
        for username, (description, frame) in demo_predictions(data).items():
            self._submit(phase, users[username], description, frame,
                         DEMO_FACT_SHEETS.get(username))
        self._baseline(challenge, phase, users["organiser"], data)

    def _submit(self, phase, user, description, frame, fact_sheet=None):
        team = Participant.objects.get(challenge=phase.challenge, user=user).team
        existing = Submission.objects.filter(phase=phase, team=team,
                                             description=description).first()
        if existing is not None:
            return existing
        upload = ContentFile(frame.to_csv(index=False).encode(), name=f"{user.username}.csv")
        return services.submission_create(phase=phase, user=user, upload=upload,
                                          description=description, fact_sheet=fact_sheet)

    def _baseline(self, challenge, phase, organiser, data) -> None:
        """The organisers enter a baseline as a team of their own; it is the phase's reference
        entry, so the leaderboard marks who levelled down against it."""
        services.participant_join(challenge=challenge, user=organiser, accept_rules=True)
        member = Participant.objects.get(challenge=challenge, user=organiser)
        if member.team.name != BASELINE_TEAM:
            services.team_create(participant=member, name=BASELINE_TEAM)
        baseline = self._submit(phase, organiser, BASELINE_DESCRIPTION,
                                baseline_predictions(data))
        if phase.reference_submission_id is None:
            phase.reference_submission = baseline
            phase.reference_label = BASELINE_TEAM
            services.phase_save(phase=phase, created=False,
                                changed=["reference_submission", "reference_label"])


# Illustrative declarations (the demo's models train in seconds on a laptop): enough to show the
# Compute page's chart and Pareto front; erin declares nothing.
DEMO_FACT_SHEETS = {
    "alice": {"training_hours": 0.5, "inference_hours": 0.01, "hardware": "intel-xeon-gold-6148",
              "devices": 1, "external_data": ""},
    "bob": {"training_hours": 0.02, "inference_hours": 0.01, "hardware": "intel-xeon-gold-6148",
            "devices": 1, "external_data": ""},
    "carol": {"training_hours": 2.0, "inference_hours": 0.1, "hardware": "nvidia-t4",
              "devices": 1, "external_data": ""},
    "dave": {"training_hours": 6.0, "inference_hours": 0.2, "hardware": "nvidia-a100-pcie",
             "devices": 2, "external_data": ""},
}


def demo_logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for username, _display, role in ACCOUNTS:
        lines.append(f"  {username:<11} {role}")
    lines.append("  (alice and bob form the team 'Light Chain Gang')")
    return "\n".join(lines)
