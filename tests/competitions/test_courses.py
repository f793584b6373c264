"""Courses: a teacher imports a roster (bad rows listed, the rest invited), students join by
their link, the gradebook gives each student their team's points in Moodle's and Canvas's
import layouts, and course mode hides students' names from each other."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from sklearn.metrics import roc_auc_score

from competitions.models import GradeRule, Participant, Phase, RosterEntry
from notifications.models import AddressEmail, Kind, Notice
from tests.conftest import rank_and_analyse
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

ROSTER = (
    "email,name,lms_id,section\n"
    "ana@uni.example,Ana Silva,1001,A\n"
    "not-an-email,Bad Row,1002,A\n"
    "ben@uni.example,Ben Okafor,,B\n"
    "ANA@uni.example,Ana Again,1003,A\n"
    "cleo@uni.example,=HYPERLINK(\"http://evil.example\"),1004,B\n"
)


def _import(client, challenge, text: str = ROSTER):
    return client.post(
        reverse("competitions:course-roster", args=[challenge.slug]),
        {"roster": SimpleUploadedFile("roster.csv", text.encode())},
    )


@pytest.fixture
def teacher(client, open_phase):
    user = UserFactory(username="teacher")
    open_phase.challenge.organisers.add(user)
    client.force_login(user)
    return user


def test_a_roster_import_lists_bad_rows_and_invites_the_rest(client, open_phase, teacher):
    challenge = open_phase.challenge
    ben = UserFactory(username="ben", email="Ben@uni.example")
    response = _import(client, challenge)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Line 3 (not-an-email): not a valid e-mail address" in page
    assert "Line 5 (ANA@uni.example): already on the roster" in page
    assert sorted(RosterEntry.objects.values_list("email", flat=True)) == [
        "ana@uni.example", "ben@uni.example", "cleo@uni.example"]
    # An account with the e-mail is told on the site (and by e-mail, through its notice);
    # the other addresses get an e-mail with their own link.
    entry = RosterEntry.objects.get(email="ben@uni.example")
    assert entry.user == ben
    notice = Notice.objects.get(user=ben)
    assert notice.kind == Kind.COURSE
    assert notice.url == reverse("competitions:course-join", args=[challenge.slug, entry.token])
    mails = {m.address: m for m in AddressEmail.objects.all()}
    assert set(mails) == {"ana@uni.example", "cleo@uni.example"}
    ana = RosterEntry.objects.get(email="ana@uni.example")
    assert mails["ana@uni.example"].url == reverse("competitions:course-join",
                                                   args=[challenge.slug, ana.token])
    assert 'data-status="invited"' in client.get(
        reverse("competitions:course-roster", args=[challenge.slug])).content.decode()

    # The same file again adds and mails no one; every row is now a duplicate.
    again = _import(client, challenge).content.decode()
    assert RosterEntry.objects.count() == 3 and AddressEmail.objects.count() == 2
    assert "Line 2 (ana@uni.example): already on the roster" in again


def test_a_roster_without_an_email_column_is_refused_as_a_whole(client, open_phase, teacher):
    page = _import(client, open_phase.challenge, "name\nAna\n").content.decode()
    assert "needs a column called" in page
    assert not RosterEntry.objects.exists()


def test_a_student_joins_by_the_link_and_a_revoked_link_stops_working(client, open_phase,
                                                                       teacher):
    challenge = open_phase.challenge
    _import(client, challenge)
    ana = RosterEntry.objects.get(email="ana@uni.example")
    cleo = RosterEntry.objects.get(email="cleo@uni.example")
    roster = reverse("competitions:course-roster", args=[challenge.slug])
    client.post(reverse("competitions:course-roster-entry", args=[challenge.slug, cleo.pk,
                                                                  "revoke"]))
    # Resending mails once more, under a new key.
    client.post(reverse("competitions:course-roster-entry", args=[challenge.slug, ana.pk,
                                                                  "resend"]))
    assert AddressEmail.objects.filter(address="ana@uni.example").count() == 2

    student = UserFactory(username="ana-s", email="ana.private@mail.example")
    client.force_login(student)
    link = reverse("competitions:course-join", args=[challenge.slug, ana.token])
    assert client.get(link).status_code == 200
    refused = client.post(link, {})
    assert refused.status_code == 200 and not Participant.objects.filter(user=student).exists()
    assert client.post(link, {"accept_rules": "on"}).status_code == 302
    assert Participant.objects.filter(challenge=challenge, user=student).exists()
    assert client.get(reverse("competitions:course-join", args=[challenge.slug, cleo.token])
                      ).status_code == 404
    # Another account cannot take Ana's place with her link.
    client.force_login(UserFactory(username="mallory"))
    assert client.get(link).status_code == 404

    client.force_login(teacher)
    page = client.get(roster).content.decode()
    assert 'data-status="joined"' in page and 'data-status="revoked"' in page


def _roster_for(phase, teams: dict[str, list[str]]) -> dict[str, RosterEntry]:
    """Roster entries joined to the field's teams: {team name: [e-mails]}."""
    entries = {}
    for team, emails in teams.items():
        holder = Participant.objects.get(challenge=phase.challenge, team__name=team)
        for n, email in enumerate(emails):
            participant = holder if n == 0 else ParticipantFactory(team=holder.team)
            entries[email] = RosterEntry.objects.create(
                challenge=phase.challenge, email=email, user=participant.user,
                name=f"Student {email.split('@')[0]}", lms_id=f"9{len(entries)}",
                section="S1", invited_at=timezone.now(),
            )
    return entries


def _auroc(demo_data, scores, split: str) -> float:
    truth = demo_data.truth.set_index("case_id")
    features = demo_data.test_features.assign(score=scores).set_index("case_id")
    cases = truth.index[truth["split"] == split]
    return roc_auc_score(truth.loc[cases, "label"], features.loc[cases, "score"])


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_gradebook_files_give_each_student_their_teams_points_column_by_column(
    client, field, demo_data
):
    phase, scores = field
    aurocs = {team: _auroc(demo_data, s, "public") for team, s in scores.items()}
    # Between the twins' and the other model's public AUROC: an independent oracle decides
    # which team reaches the 10-point step.
    better, worse = max(aurocs, key=aurocs.get), min(aurocs, key=aurocs.get)
    bound = round((aurocs[better] + aurocs[worse]) / 2, 4)
    teacher = UserFactory(username="teacher")
    phase.challenge.organisers.add(teacher)
    client.force_login(teacher)
    entries = _roster_for(phase, {better: ["p@uni.example", "q@uni.example"],
                                  worse: ["r@uni.example"]})
    RosterEntry.objects.create(challenge=phase.challenge, email="s@uni.example",
                               name='=HYPERLINK("http://evil.example")', section="-S2")
    url = reverse("competitions:course-gradebook", args=[phase.challenge.slug, phase.slug])
    saved = client.post(url, {"item": "Lab 1", "lms_item_id": "4711", "basis": "score",
                              "steps": f"{bound} 10\n0.5 4", "otherwise": "0"})
    assert saved.status_code == 302
    rule = GradeRule.objects.get(phase=phase)
    assert rule.steps == [[bound, 10.0], [0.5, 4.0]]
    page = client.get(url).content.decode()
    assert "Provisional" in page

    moodle = client.get(url + "?layout=moodle")
    assert "provisional" in moodle["Content-Disposition"]
    expected_worse = "4" if aurocs[worse] >= 0.5 else "0"
    moodle_rows = _rows(moodle)
    assert moodle_rows[0] == ["Email address", "Lab 1"]
    # Rows come by section, then e-mail ("-S2" sorts before "S1").
    assert moodle_rows[1:] == [
        ["s@uni.example", "0"],
        ["p@uni.example", "10"], ["q@uni.example", "10"],
        ["r@uni.example", expected_worse],
    ]
    canvas = _rows(client.get(url + "?layout=canvas"))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "Lab 1 (4711)"]
    assert canvas[1:] == [
        # A formula in a name or section is text, as in every download.
        ["'=HYPERLINK(\"http://evil.example\")", "", "", "", "'-S2", "0"],
        ["Student p", entries["p@uni.example"].lms_id, "", "", "S1", "10"],
        ["Student q", entries["q@uni.example"].lms_id, "", "", "S1", "10"],
        ["Student r", entries["r@uni.example"].lms_id, "", "", "S1", expected_worse],
    ]
    detail = _rows(client.get(url + "?layout=detail"))
    assert detail[0][-4:] == ["metric", "score", "rank", "points"]
    by_email = {row[0]: row for row in detail[1:]}
    assert by_email["p@uni.example"][6:9] == ["public", "True", "auroc"]
    assert float(by_email["p@uni.example"][9]) == pytest.approx(aurocs[better], abs=1e-9)
    assert by_email["s@uni.example"][4] == "invited" and by_email["s@uni.example"][10] == ""


def test_grades_come_from_the_private_split_once_the_phase_has_ended(client, field, demo_data):
    phase, scores = field
    teacher = UserFactory(username="teacher")
    phase.challenge.organisers.add(teacher)
    client.force_login(teacher)
    team = next(iter(scores))
    _roster_for(phase, {team: ["p@uni.example"]})
    GradeRule.objects.create(phase=phase, item="Lab 1", basis="rank", steps=[[1, 10], [3, 5]])
    Phase.objects.filter(pk=phase.pk).update(start=timezone.now() - timedelta(days=3),
                                             end=timezone.now() - timedelta(days=1))
    phase.refresh_from_db()
    rank_and_analyse(phase)
    url = reverse("competitions:course-gradebook", args=[phase.challenge.slug, phase.slug])
    response = client.get(url + "?layout=detail")
    assert "provisional" not in response["Content-Disposition"]
    row = _rows(response)[1]
    assert row[6:8] == ["private", "False"]
    assert float(row[9]) == pytest.approx(_auroc(demo_data, scores[team], "private"), abs=1e-9)
    assert row[11] == ("10" if row[10] == "1" else "5")


def test_course_mode_hides_other_students_names_on_the_leaderboard(client, field):
    phase, _scores = field
    challenge = phase.challenge
    me = Participant.objects.get(challenge=challenge, team__name="Chains")
    board = reverse("competitions:leaderboard", args=[challenge.slug, phase.slug])
    client.force_login(me.user)
    assert "Twin A" in client.get(board).content.decode()
    challenge.course_mode = True
    challenge.save()
    page = client.get(board).content.decode()
    assert "Twin A" not in page and "Twin B" not in page
    assert "Chains" in page and "Anonymous team (2)" in page
    teacher = UserFactory(username="teacher")
    challenge.organisers.add(teacher)
    client.force_login(teacher)
    assert "Twin A" in client.get(board).content.decode()


def test_a_teacher_sees_each_students_submissions(client, field):
    phase, _scores = field
    teacher = UserFactory(username="teacher")
    phase.challenge.organisers.add(teacher)
    entries = _roster_for(phase, {"Twin A": ["p@uni.example"]})
    client.force_login(teacher)
    page = client.get(reverse("competitions:course-student", args=[
        phase.challenge.slug, entries["p@uni.example"].pk])).content.decode()
    submission = entries["p@uni.example"].user.submissions.get()
    assert reverse("competitions:submission", args=[phase.challenge.slug, submission.pk]) in page
    client.force_login(entries["p@uni.example"].user)
    assert client.get(reverse("competitions:course-student", args=[
        phase.challenge.slug, entries["p@uni.example"].pk])).status_code == 404


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_roster_and_gradebook_pages_read_as_many_queries_for_5_students_as_for_40(
    client, field
):
    phase, _scores = field
    teacher = UserFactory(username="teacher")
    phase.challenge.organisers.add(teacher)
    client.force_login(teacher)
    roster = reverse("competitions:course-roster", args=[phase.challenge.slug])
    gradebook = reverse("competitions:course-gradebook", args=[phase.challenge.slug, phase.slug])
    teams = list(Participant.objects.filter(challenge=phase.challenge).values_list(
        "team__name", flat=True).distinct())
    _roster_for(phase, {teams[0]: [f"a{n}@uni.example" for n in range(5)]})
    few = (_queries(client, roster), _queries(client, gradebook))
    _roster_for(phase, {teams[-1]: [f"b{n}@uni.example" for n in range(35)]})
    many = (_queries(client, roster), _queries(client, gradebook))
    assert many == few, (few, many)
    assert max(many) <= 40


@pytest.mark.parametrize("row", [b"a" * 300 + b"@uni.example", b"\x00ana@uni.example"])
def test_an_address_no_roster_could_store_is_a_listed_bad_row_not_an_error(
    client, open_phase, teacher, row
):
    response = _import(client, open_phase.challenge, (b"email\n" + row + b"\nok@uni.example\n")
                       .decode())
    page = response.content.decode()
    assert response.status_code == 200 and "not a valid e-mail address" in page
    assert "1 student added and invited." in page
    assert list(RosterEntry.objects.values_list("email", flat=True)) == ["ok@uni.example"]
