"""Every participant page at a phone's width (390 px) and a laptop's (1280 px), in headless
Chromium: the page never scrolls sideways, the header keeps "Log out" on screen, and a wide table
scrolls inside its own frame with the team column kept at the frame's left edge.

The pages are those of the demo (``seed_demo``, scored by the real worker): leaderboards with
many metrics and with groups as columns, the 14-metric subgroup table of a submission, the
results page's heatmaps and rank charts, the study's pages.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page

from competitions import services as competition_services
from competitions.management.commands.seed_demo import CHALLENGE_SLUG, DEMO_PASSWORD
from competitions.models import Phase, Submission
from surveys import services as survey_services
from surveys.demo import STUDY_SLUG
from surveys.models import ConsentItem, Study
from tests.competitions.builders import make_board, make_scored, make_teams
from tests.conftest import rank_and_analyse
from tests.e2e.conftest import COLLECT_VIOLATIONS, wait_for, worker_wait_idle
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

# How wide the page is against the window, and the elements outside a table's frame that stick
# out on the right (the last, innermost ones): what a failure names, so the culprit can be found.
MEASURE = """() => {
  const inner = window.innerWidth;
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.parentElement.closest(".table-frame")) continue;
    const right = el.getBoundingClientRect().right;
    if (right > inner + 0.5) {
      const classes = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      culprits.push(el.tagName.toLowerCase() + classes + " to " + Math.round(right) + " px");
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: inner, culprits: culprits.slice(-3)};
}"""

# The first frame holding ``table``, scrolled to its far right: how wide it is against what it
# shows, and where its first body row's header cell (the team) and the frame itself begin.
SCROLL_FRAME = """(selector) => {
  const frame = document.querySelector(selector).closest(".table-frame");
  if (!frame) return null;
  frame.scrollLeft = frame.scrollWidth;
  const cell = frame.querySelector("tbody th[scope=row]");
  return {
    scrollWidth: frame.scrollWidth, clientWidth: frame.clientWidth, scrollLeft: frame.scrollLeft,
    frameLeft: frame.getBoundingClientRect().left + frame.clientLeft,
    cellLeft: cell.getBoundingClientRect().left, cellText: cell.innerText,
    pageScroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  };
}"""


def _log_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _measure(page: Page, base: str, paths: dict[str, str]) -> dict[tuple[str, int], dict]:
    """Each page at each width: its scroll width against the window's. The page must answer
    200 and draw under the Content-Security-Policy (the layout needs no inline style)."""
    measured = {}
    for size in (PHONE, LAPTOP):
        page.set_viewport_size(size)
        for name, path in paths.items():
            response = page.goto(base + path)
            assert response.ok, f"{name} ({path}) answered {response.status}"
            assert page.evaluate("window.__violations") == [], name
            measured[name, size["width"]] = page.evaluate(MEASURE)
    return measured


@pytest.fixture
def demo_site(celery_worker_process) -> tuple[Phase, Study]:
    """``seed_demo`` as ``make demo`` runs it, scored by the real worker, and a newcomer (nina)
    who has just joined and consented, with the pre-survey waiting."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    wait_for(
        lambda: not Submission.objects.exclude(status=Submission.Status.SCORED).exists(),
        timeout=240,
        what="the worker to score the demo's submissions",
    )
    worker_wait_idle(celery_worker_process, timeout=240)  # rank intervals, tests, similarity
    phase = Phase.objects.get(challenge__slug=CHALLENGE_SLUG)
    study = Study.objects.get(slug=STUDY_SLUG)
    nina = UserFactory(username="nina", display_name="Nina", password=DEMO_PASSWORD)
    competition_services.participant_join(challenge=phase.challenge, user=nina, accept_rules=True)
    survey_services.consent_record(
        user=nina,
        study=study,
        version=study.consent_versions.order_by("-version").first(),
        choices={ConsentItem.PARTICIPATE: True, ConsentItem.RESEARCH: True},
    )
    return phase, study


def test_no_page_scrolls_sideways_at_phone_or_laptop_width(live_server, browser_page, demo_site):
    phase, study = demo_site
    page, base = browser_page, live_server.url
    page.add_init_script(COLLECT_VIOLATIONS)
    c = f"/c/{CHALLENGE_SLUG}"
    p = f"{c}/phases/{phase.slug}"
    scored = Submission.objects.filter(team__name="Light Chain Gang").first()
    carol = Submission.objects.get(created_by__username="carol")
    # The demo's design arms: alice sees the single-metric ranking, bob (her team-mate) the
    # multi-metric and worst-group ones.
    alice = {"leaderboard (main)": f"{p}/leaderboard/", "results (main)": f"{p}/results/"}
    bob = {
        "home": "/",
        "challenge": f"{c}/",
        "leaderboard (multi-metric)": f"{p}/leaderboard/?board=multi-metric",
        "leaderboard (worst sex)": f"{p}/leaderboard/?board=worst-sex",
        "leaderboard, age bands as columns": (
            f"{p}/leaderboard/?board=multi-metric&attribute=age_band"
        ),
        "leaderboard, kidney function as columns": (
            f"{p}/leaderboard/?board=multi-metric&attribute=kidney_function"
        ),
        "results (multi-metric)": f"{p}/results/?board=multi-metric",
        "entry": f"{p}/entries/{carol.pk}/?board=multi-metric",
        "similarity": f"{p}/similarity/",
        "compute": f"{p}/compute/",
        "team": f"{c}/team/",
        "submissions": f"{c}/submissions/",
        "submission (scored, 14 metrics by subgroup)": f"{c}/submissions/{scored.pk}/",
        "submit": f"{p}/submit/",
        "privacy and studies": "/studies/",
        "consent": f"/studies/{STUDY_SLUG}/consent/",
        "profile": "/accounts/profile/",
    }
    _log_in(page, base, "alice")
    measured = _measure(page, base, alice)
    _log_in(page, base, "bob")
    measured |= _measure(page, base, bob)
    _log_in(page, base, "nina")
    pre = study.surveys.get(slug="pre")
    measured |= _measure(page, base, {"survey": f"/studies/surveys/{pre.pk}/"})
    _log_in(page, base, "researcher")
    measured |= _measure(page, base, {"study (research)": f"/studies/{STUDY_SLUG}/research/"})
    page.context.clear_cookies()
    measured |= _measure(
        page,
        base,
        {
            "home (logged out)": "/",
            "challenge (logged out)": f"{c}/",
            "log in": "/accounts/login/",
            "sign up": "/accounts/signup/",
        },
    )
    overflowing = [
        f"{name} at {width} px: scrollWidth {m['scroll']} > innerWidth {m['inner']}"
        f" (sticking out: {', '.join(m['culprits']) or '—'})"
        for (name, width), m in measured.items()
        if m["scroll"] > m["inner"]
    ]
    assert not overflowing, "Pages wider than the window:\n" + "\n".join(overflowing)


def test_log_out_stays_on_screen_in_the_header_at_phone_width(live_server, browser_page):
    UserFactory(
        username="maria",
        display_name="Maria Fernanda Oliveira da Silva",
        password=DEMO_PASSWORD,
        is_staff=True,
    )
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    _log_in(page, base, "maria")
    page.goto(f"{base}/studies/")
    log_out = page.locator("header.site").get_by_role("button", name="Log out")
    box = log_out.bounding_box()
    assert log_out.is_visible() and box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    log_out.click()
    page.wait_for_url(lambda url: "/studies/" not in url)
    assert page.locator("header.site").get_by_role("link", name="Log in").is_visible()


@pytest.fixture
def wide_board(open_phase):
    """Three scored teams on a board of eight columns, shown with the groups of sex as columns
    as well: wider than a laptop's window."""
    teams = make_teams(open_phase, 3)
    for offset, (participant, auroc) in enumerate(zip(teams, (0.91, 0.84, 0.77), strict=True)):
        participant.team.name = f"Free light chain modelling group {offset + 1}"
        participant.team.save()
        make_scored(
            open_phase,
            participant,
            created_offset=offset,
            auroc=auroc,
            sensitivity=auroc - 0.2,
            groups={
                "female": {"auroc": auroc - 0.01, "sensitivity": auroc - 0.25},
                "male": {"auroc": auroc + 0.01, "sensitivity": auroc - 0.15},
            },
        )
    columns = [
        ("auroc", True),
        ("sensitivity", True),
        ("auroc@sex=female", False),
        ("auroc@sex=male", False),
        ("sensitivity@sex=female", False),
        ("sensitivity@sex=male", False),
        ("sensitivity@worst(sex)", False),
        ("auroc@worst(sex)", False),
    ]
    board = make_board(open_phase, "mean_rank", columns, robustness_resamples=0)
    rank_and_analyse(open_phase)
    return board


def _board_url(base: str, board, query: str = "") -> str:
    phase = board.phase
    return (
        f"{base}/c/{phase.challenge.slug}/phases/{phase.slug}/leaderboard/"
        f"?board={board.slug}{query}"
    )


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_a_wide_leaderboard_scrolls_in_its_frame_and_keeps_the_team_column_in_view(
    live_server, browser_page, wide_board, size
):
    """Its frame scrolls, the page does not, and after scrolling to the far right the team
    names sit at the frame's left edge."""
    page = browser_page
    page.set_viewport_size(size)
    page.goto(_board_url(live_server.url, wide_board, "&attribute=sex"))
    frame = page.evaluate(SCROLL_FRAME, "table.leaderboard")
    assert frame is not None, "the leaderboard is not inside a .table-frame"
    assert frame["scrollWidth"] > frame["clientWidth"] and frame["scrollLeft"] > 0, frame
    assert frame["pageScroll"] <= frame["inner"], frame
    assert frame["cellText"].startswith("Free light chain modelling group 1"), frame
    assert abs(frame["cellLeft"] - frame["frameLeft"]) <= 1, frame


def test_only_a_table_frame_that_scrolls_is_a_tab_stop(live_server, browser_page, wide_board):
    """The keyboard needs the wide frame to scroll it; the narrow one (the phase's primary board,
    one column) fits and would be a stop that does nothing."""
    page = browser_page
    page.set_viewport_size(LAPTOP)
    frame = page.locator(".table-frame").filter(has=page.locator("table.leaderboard"))
    page.goto(_board_url(live_server.url, wide_board, "&attribute=sex"))
    assert frame.get_attribute("tabindex") == "0"
    frame.focus()
    page.keyboard.press("ArrowRight")  # scrolls the frame (possibly smoothly, so wait for it)
    page.wait_for_function("f => f.scrollLeft > 0", arg=frame.element_handle(), timeout=5_000)
    primary = wide_board.phase.leaderboards.get(is_primary=True)
    page.goto(_board_url(live_server.url, primary))
    assert frame.evaluate("f => f.scrollWidth <= f.clientWidth")
    assert frame.get_attribute("tabindex") is None
