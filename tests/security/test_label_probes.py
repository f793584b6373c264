"""Reading labels back from the feedback, as an attacker with a participant account does.

Two probes, each decoded the way an attacker would, from what the API and the submission page
release:

- the precision probe: 0.5 everywhere except chosen cases at 0.5 − 2⁻ᵏ; the public Brier
  score then spells their labels in binary (n·B − n/4 − Σ 2⁻²ᵏ = Σ ±2⁻ᵏ, + for a positive);
- the count probe: a positive decision on one chosen case per group (0 elsewhere, or noisy
  scores just under the threshold); each group's sensitivity is > 0 exactly when its case is
  positive.

Under the default policy (the ladder) both must decode no better than chance — balanced
accuracy ≈ 0.5 — for a new person and for one with an earlier real submission. Under ``full``
at 3 decimals the precision probe fails too; the count probe still works there, and the test
says so: that is why ``full`` carries a warning in the admin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from competitions import services
from competitions.models import Phase, Submission
from competitions.selectors import submission_results
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db

PROBED = 40


def truth_frame(phase) -> pd.DataFrame:
    with phase.ground_truth.open("rb") as handle:
        return pd.read_csv(handle, dtype={"case_id": str}, keep_default_na=False)


def submit_exact(phase, user, case_ids, scores) -> Submission:
    """Upload scores at full precision (repr: the float64 round-trips)."""
    lines = ["case_id,score"] + [f"{c},{float(s)!r}" for c, s in zip(case_ids, scores,
                                                                    strict=True)]
    submission = services.submission_create(
        phase=phase, user=user, upload=upload(("\n".join(lines) + "\n").encode()))
    score_now(submission)
    submission.refresh_from_db()
    assert submission.status == "scored", submission.message
    return submission


def released_public(submission, user) -> dict | None:
    """The public split as the page and the API release it to ``user``."""
    splits = {s["name"]: s for s in submission_results(submission, user)}
    return splits.get("public")


def precision_probe(phase, user, chosen: list[str]) -> np.ndarray:
    """Submit the probe on ``chosen`` (in order, k = 1, 2, …) and decode their labels from the
    released Brier score; a withheld score decodes to 0 for every case (the attacker's guess)."""
    truth = truth_frame(phase)
    scores = pd.Series(0.5, index=truth["case_id"])
    steps = 2.0 ** -np.arange(1, len(chosen) + 1)
    scores[chosen] = 0.5 - steps
    submission = submit_exact(phase, user, truth["case_id"], scores.to_numpy())
    public = released_public(submission, user)
    brier = public["overall"]["brier"]["value"] if public else None
    if brier is None:
        return np.zeros(len(chosen), dtype=int)
    n = public["n_cases"]
    remainder = n * brier - 0.25 * n - np.sum(steps**2)
    decoded = []
    for step in steps:
        sign = 1 if remainder > 0 else -1
        decoded.append(1 if sign > 0 else 0)
        remainder -= sign * step
    return np.array(decoded)


def count_probe(phase, user, chosen: dict[tuple[str, str], str], *, noisy: bool) -> np.ndarray:
    """One positive decision per group; every other case at 0 (or just under the threshold).
    Decodes each chosen case's label from its group's released sensitivity."""
    truth = truth_frame(phase)
    rng = np.random.default_rng(11)
    low = phase.threshold - rng.uniform(1e-4, 1e-2, len(truth)) if noisy else np.zeros(len(truth))
    scores = pd.Series(low, index=truth["case_id"])
    scores[list(chosen.values())] = 1.0
    submission = submit_exact(phase, user, truth["case_id"], scores.to_numpy())
    public = released_public(submission, user)
    cells = {}
    for row in (public or {}).get("subgroups", []):
        cells[(row["attribute"], row["group"])] = (row["metrics"].get("sensitivity") or {})
    decoded = []
    for key in chosen:
        value = cells.get(key, {}).get("value")
        decoded.append(1 if value is not None and value > 0 else 0)
    return np.array(decoded)


def public_cases(phase) -> pd.DataFrame:
    truth = truth_frame(phase)
    return truth[truth["split"] == "public"]


def probe_cases(phase) -> list[str]:
    """40 public cases, half of them positive (so that chance is 0.5 whatever is guessed)."""
    public = public_cases(phase)
    positives = public[public["label"] == 1]["case_id"].head(PROBED // 2)
    negatives = public[public["label"] == 0]["case_id"].head(PROBED // 2)
    return list(pd.concat([positives, negatives]).sample(frac=1, random_state=4))


def one_case_per_group(phase, attribute: str) -> dict[tuple[str, str], str]:
    """Per group of ``attribute``, one public case; labels alternate so both classes are
    probed. One attribute per submission: a case also sits in a group of every other
    attribute, whose sensitivity it would change too."""
    public = public_cases(phase)
    chosen: dict[tuple[str, str], str] = {}
    for group in sorted(public[attribute].unique()):
        want = len(chosen) % 2
        pool = public[(public[attribute] == group) & (public["label"] == want)]
        chosen[(attribute, group)] = pool["case_id"].iloc[0]
    return chosen


def count_probes(phase, user, *, noisy: bool) -> tuple[np.ndarray, np.ndarray]:
    """The count probe on age_band's 4 groups and sex's 2 (two submissions): decoded labels and
    the true ones."""
    decoded, truth = [], []
    for attribute in ("age_band", "sex"):
        chosen = one_case_per_group(phase, attribute)
        decoded.append(count_probe(phase, user, chosen, noisy=noisy))
        truth.append(labels_of(phase, chosen.values()))
    return np.concatenate(truth), np.concatenate(decoded)


def precision_probes(phase, user) -> tuple[np.ndarray, np.ndarray]:
    """The precision probe on 40 public cases in two submissions of 20."""
    chosen = probe_cases(phase)
    decoded = np.concatenate([precision_probe(phase, user, chosen[:20]),
                              precision_probe(phase, user, chosen[20:])])
    return labels_of(phase, chosen), decoded


def labels_of(phase, cases) -> np.ndarray:
    truth = truth_frame(phase).set_index("case_id")
    return truth.loc[list(cases), "label"].astype(int).to_numpy()


def real_submission(phase, user) -> None:
    truth = truth_frame(phase)
    rng = np.random.default_rng(2)
    noisy = np.clip(truth["label"].to_numpy() * 0.3 + rng.random(len(truth)) * 0.7, 0, 1)
    submit_exact(phase, user, truth["case_id"], noisy)


@pytest.mark.parametrize("history", ["new person", "earlier real submission"])
def test_the_ladder_defeats_the_precision_probe(open_phase, history):
    user = ParticipantFactory(team__challenge=open_phase.challenge).user
    if history == "earlier real submission":
        real_submission(open_phase, user)
    labels, decoded = precision_probes(open_phase, user)
    assert balanced_accuracy_score(labels, decoded) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("noisy", [False, True], ids=["zeros", "just under the threshold"])
@pytest.mark.parametrize("history", ["new person", "earlier real submission"])
def test_the_ladder_defeats_the_count_probe(open_phase, history, noisy):
    user = ParticipantFactory(team__challenge=open_phase.challenge).user
    if history == "earlier real submission":
        real_submission(open_phase, user)
    labels, decoded = count_probes(open_phase, user, noisy=noisy)
    assert balanced_accuracy_score(labels, decoded) == pytest.approx(0.5, abs=0.1)


def organiser_participant(phase):
    from tests.factories import UserFactory

    organiser = UserFactory()
    phase.challenge.organisers.add(organiser)
    ParticipantFactory(team__challenge=phase.challenge, user=organiser)
    return organiser


def test_the_decoders_work_on_exact_values(open_phase):
    """The control: with exact feedback (an organiser's view) both decoders read every label,
    so the tests above fail if the release step lets the values through."""
    labels, decoded = precision_probes(open_phase, organiser_participant(open_phase))
    assert balanced_accuracy_score(labels, decoded) == 1.0
    labels, decoded = count_probes(open_phase, organiser_participant(open_phase), noisy=True)
    assert balanced_accuracy_score(labels, decoded) == 1.0


def test_under_full_rounding_stops_the_precision_probe_not_the_count_probe(open_phase):
    Phase.objects.filter(pk=open_phase.pk).update(release_policy="full")
    open_phase.refresh_from_db()
    challenge = open_phase.challenge
    attacker = ParticipantFactory(team__challenge=challenge).user
    labels, decoded = precision_probes(open_phase, attacker)
    assert balanced_accuracy_score(labels, decoded) <= 0.6
    # What full still gives away: each group's sensitivity tells its probed case's label.
    labels, decoded = count_probes(open_phase, ParticipantFactory(team__challenge=challenge).user,
                                   noisy=False)
    assert balanced_accuracy_score(labels, decoded) == 1.0
