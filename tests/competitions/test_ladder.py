"""The release policy: the ladder releases a person's submission only when it beats their best
released one significantly, ``full`` releases all; every released number has the phase's
resolution (3 decimals), organisers see everything exactly."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from competitions import services
from competitions.models import Phase, Submission
from competitions.worker.ladder import ladder_column
from scoring.ladder import ladder_resamples
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ChallengeFactory, ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def case_ids(phase) -> list[str]:
    with phase.case_list.open("rb") as handle:
        return handle.read().decode().split()[1:]


def submit(phase, user, scores) -> Submission:
    submission = services.submission_create(
        phase=phase, user=user, upload=upload(predictions_csv(case_ids(phase), scores)))
    score_now(submission)
    submission.refresh_from_db()
    return submission


def good_scores(demo_data, phase) -> np.ndarray:
    """The plausible model of ``good_predictions``, in the phase's case order."""
    features = demo_data.test_features.set_index("case_id").loc[case_ids(phase)]
    risk = (features["age"] - 50) / 50 + (features["kappa"] + features["lambda"]) / 10
    return (1 / (1 + np.exp(-(risk.to_numpy() - 1.0) * 3)))


def noise(phase, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(len(case_ids(phase)))


def api_detail(user, pk) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    return client.get(reverse("api:submission", args=[pk])).json()


def leaderboard_ids(phase) -> list[int]:
    client = APIClient()
    document = client.get(reverse("api:leaderboard",
                                  args=[phase.challenge.slug, phase.slug, "main"])).json()
    return [entry["submission"] for entry in document["entries"]]


def test_new_phases_get_the_ladder_at_three_decimals(open_phase):
    assert open_phase.release_policy == Phase.ReleasePolicy.LADDER
    assert open_phase.release_decimals == 3


def test_first_released_then_only_a_significant_step(open_phase, participant, demo_data):
    user = participant.user
    first = submit(open_phase, user, noise(open_phase, 1))
    assert first.released is True and first.ladder["first"] is True
    better = submit(open_phase, user, good_scores(demo_data, open_phase))
    assert better.released is True
    assert better.ladder["compared_to"] == first.pk and better.ladder["ci"][0] > 0
    assert better.ladder["resamples"] == ladder_resamples(open_phase.bootstrap_resamples)
    # The same model blurred a little (not a near copy: over 1% of its decisions differ).
    again = 0.9 * good_scores(demo_data, open_phase) + 0.1 * noise(open_phase, 2)
    same = submit(open_phase, user, again)
    assert same.released is False
    assert same.release_note == f"not significantly better than your best (#{better.number})"
    assert same.ladder["ci"][0] <= 0

    # Its author learns nothing of its public values: API, page.
    shown = api_detail(user, same.pk)
    assert shown["released"] is False and shown["release_note"] == same.release_note
    assert all(cell["value"] is None and cell["ci"] is None
               for cell in shown["results"]["public"].values())
    page = Client_page(user, open_phase, same.pk)
    assert f"not significantly better than your best (#{better.number})" in page
    assert "Results by subgroup" not in page
    # The released one shows its values, rounded.
    auroc = api_detail(user, better.pk)["results"]["public"]["auroc"]["value"]
    exact = better.result["public"]["overall"]["auroc"]["value"]
    assert auroc == round(exact, 3)
    # The board counts released submissions only.
    assert leaderboard_ids(open_phase) == [better.pk]


def Client_page(user, phase, pk) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get(reverse("competitions:submission", args=[phase.challenge.slug, pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_ladder_is_the_persons_across_teams(open_phase, participant, demo_data):
    user = participant.user
    best = submit(open_phase, user, good_scores(demo_data, open_phase))
    services.team_create(participant=participant, name="A fresh start")
    again = submit(open_phase, user,
                   0.9 * good_scores(demo_data, open_phase) + 0.1 * noise(open_phase, 2))
    assert again.team_id != best.team_id
    assert again.released is False and again.ladder["compared_to"] == best.pk
    # A team-mate's first submission starts the team-mate's own ladder.
    mate = ParticipantFactory(team=again.team).user
    theirs = submit(open_phase, mate, noise(open_phase, 5))
    assert theirs.released is True and theirs.ladder["first"] is True


def test_a_flagged_first_submission_is_never_released(open_phase, participant):
    probe = np.full(len(case_ids(open_phase)), 0.5)
    probe[:40] = 0.25
    flagged = submit(open_phase, participant.user, probe)
    assert flagged.flags.exists()
    assert flagged.released is False and flagged.ladder == {"flagged": True}
    assert leaderboard_ids(open_phase) == []


def test_organisers_see_unreleased_values_exactly(client, open_phase, participant, demo_data):
    user = participant.user
    submit(open_phase, user, good_scores(demo_data, open_phase))
    held = submit(open_phase, user, good_scores(demo_data, open_phase) * 0.999)
    assert held.released is False
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    page = client.get(reverse("competitions:submission",
                              args=[open_phase.challenge.slug, held.pk])).content.decode()
    exact = held.result["public"]["overall"]["auroc"]["value"]
    assert f"{exact:.3f}" in page and "Not shown" not in page


def test_full_releases_everything_at_the_resolution(open_phase, participant, demo_data):
    Phase.objects.filter(pk=open_phase.pk).update(release_policy="full", release_decimals=2)
    user = participant.user
    first = submit(open_phase, user, good_scores(demo_data, open_phase))
    second = submit(open_phase, user, good_scores(demo_data, open_phase) * 0.999)
    assert first.released and second.released
    shown = api_detail(user, second.pk)
    assert shown["released"] is True and shown["release_note"] == ""
    for cell in shown["results"]["public"].values():
        for number in [cell["value"], *(cell["ci"] or [])]:
            assert number is None or number == round(number, 2)


def test_the_private_board_after_the_end_counts_every_submission(
    open_phase, participant, demo_data
):
    user = participant.user
    submit(open_phase, user, noise(open_phase, 1))
    held = submit(open_phase, user, noise(open_phase, 1) * 0.999)
    assert held.released is False
    public = [row.submission_id for row in _counted(open_phase, "public")]
    private = [row.submission_id for row in _counted(open_phase, "private")]
    assert held.pk not in public
    # Counting the latest: the private board takes the held one too.
    board = open_phase.leaderboards.get(is_primary=True)
    board.counting = "latest"
    board.save()
    private = [row.submission_id for row in _counted(open_phase, "private")]
    assert private == [held.pk]


def _counted(phase, split):
    from competitions.worker.counting import counting_submissions

    return counting_submissions(phase.leaderboards.get(is_primary=True), split)


def test_switching_to_full_releases_what_the_ladder_held(open_phase, participant, demo_data):
    user = participant.user
    submit(open_phase, user, noise(open_phase, 1))
    held = submit(open_phase, user, noise(open_phase, 1) * 0.999)
    open_phase.release_policy = "full"
    services.phase_save(phase=open_phase, created=False, changed=["release_policy"])
    shown = api_detail(user, held.pk)
    assert shown["released"] is True
    assert shown["results"]["public"]["auroc"]["value"] is not None


def test_no_participant_visible_number_has_more_digits_than_the_resolution(
    client, open_phase, participant, demo_data
):
    user = participant.user
    rival = ParticipantFactory(team__challenge=open_phase.challenge).user
    submit(open_phase, user, good_scores(demo_data, open_phase))
    submit(open_phase, rival, noise(open_phase, 3))
    args = [open_phase.challenge.slug, open_phase.slug]
    client.force_login(rival)
    documents = [
        client.get(reverse("competitions:leaderboard-export", args=[*args, "json"])).json(),
        api_detail(rival, Submission.objects.filter(created_by=rival).get().pk),
    ]
    numbers = [x for document in documents for x in _floats(document)]
    assert numbers and all(x == round(x, 3) for x in numbers)
    csv_text = client.get(reverse("competitions:leaderboard-export", args=[*args, "csv"])
                          ).content.decode()
    cells = [c for line in csv_text.splitlines()[1:] for c in line.split(",")]
    decimals = [c.split(".")[1] for c in cells if _is_number(c) and "." in c]
    assert decimals and all(len(d) <= 3 for d in decimals)
    page = client.get(reverse("competitions:leaderboard", args=args)).content.decode()
    values = [v for v in _data_values(page) if v]
    long = [v for v in values if _is_number(v) and "." in v and len(v.split(".")[1]) > 3]
    assert values and not long, long


def _floats(document):
    if isinstance(document, float):
        yield document
    elif isinstance(document, dict):
        for value in document.values():
            yield from _floats(value)
    elif isinstance(document, list):
        for value in document:
            yield from _floats(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_values(page: str) -> list[str]:
    import re

    return re.findall(r'data-value="([^"]*)"', page)


def test_the_admin_warns_about_full(client, truth_csv):
    from django.contrib.auth.models import Group

    from competitions.roles import ORGANISERS_GROUP
    from tests.competitions.builders import phase_form as _phase_form

    organiser = UserFactory(is_staff=True)
    organiser.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    form = _phase_form(challenge, truth_csv) | {"release_policy": "full"}
    response = client.post(reverse("admin:competitions_phase_add"), form, follow=True)
    assert "Participants can read labels back" in response.content.decode()
    assert Phase.objects.get(slug="final").release_policy == "full"
    quiet = _phase_form(challenge, truth_csv) | {"slug": "second"}
    response = client.post(reverse("admin:competitions_phase_add"), quiet, follow=True)
    assert "Participants can read labels back" not in response.content.decode()
    assert Phase.objects.get(slug="second").release_policy == "ladder"


def test_the_ladder_column_is_the_primary_boards_first_ranked(open_phase):
    assert ladder_column(open_phase).id == open_phase.primary_metric
