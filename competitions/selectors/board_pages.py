"""The leaderboard page's table, rendered once per snapshot and audience and cached.

A 1,000-team table takes hundreds of milliseconds to release and render; a snapshot changes
only when the worker ranks again. So each page of ``LEADERBOARD_PAGE_ROWS`` rows is released
(``leaderboard_table`` with only that page's rows released, through ``competitions.release``
as always), rendered by the caller's ``render`` (the template is the edge's) into an HTML
fragment once, and kept in the cache under ``competitions.board_cache.page_key``, with the
parts of the table the rest of the page needs (the head). What differs between viewers who
share a key is never in the cached parts: the audience (``release.release_audience``) tells
apart organisers, the members of an anonymous team and everyone else; the viewer's own rows
(the "your team" line and its highlight) are found from the head's team index per request
and drawn outside the fragment.

The results page is kept the same way (``results_page``): its body — the robustness and
significance sections, the sensitivity panel, the raters', levelling and subgroup sections —
is drawn from the same snapshot for the same audience, and rendering it took 80 % of its
~120 ms of CPU.

The downloads and the API read the full table and keep every row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.safestring import mark_safe

from competitions import board_cache
from competitions.models import Leaderboard
from competitions.release import viewer_for
from competitions.selectors.leaderboards import leaderboard_snapshot_stamp, leaderboard_table
from competitions.selectors.results import results_view

# What a metric name can look like (``?metric=`` of the results page, part of its cache key):
# anything else is shown as the default metric and shares its entry.
_METRIC_NAME = re.compile(r"[\w.\-]{1,64}")

# Parts of the table only the fragment or other pages read: not copied into the head.
_NOT_IN_HEAD = ("rows", "leaderboard", "robustness", "summary", "significance")


@dataclass(frozen=True)
class BoardPage:
    """One page of a leaderboard as a viewer sees it."""

    table: dict  # the released table without its rows (the page's notes, form, columns)
    html: str  # the table fragment of this page
    page: int  # 1-based
    pages: int  # at least 1
    # The viewer's own teams' rows: {"rank", "submission", "page"}, for the "your team" line.
    own_rows: list[dict]


def _head(table: dict) -> dict:
    """What every page shares: the table without its rows (``n_rows`` and ``team_rows`` are
    the whole table's; a table without a snapshot has neither and no rows)."""
    head = {key: value for key, value in table.items() if key not in _NOT_IN_HEAD}
    head.setdefault("n_rows", 0)
    head.setdefault("team_rows", {})
    return head


def _pages(n_rows: int, per_page: int) -> int:
    return max(1, math.ceil(n_rows / per_page))


def leaderboard_page(board: Leaderboard, *, split: str, user, attribute: str, page: int,
                     render: Callable[[dict], str]) -> BoardPage | None:
    """Page ``page`` of ``board`` on ``split`` for ``user``; None when there is no such page.
    ``render(table)``: the table fragment's HTML for a table holding this page's rows; it must
    draw nothing but the table (and what is the same for everyone who shares the key)."""
    per_page = settings.LEADERBOARD_PAGE_ROWS
    viewer = viewer_for(user, board.phase)
    key = board_cache.page_key(board, split=split, attribute=attribute, viewer=viewer,
                               snapshot=leaderboard_snapshot_stamp(board, split))
    head_key, html_key = f"{key}:head", f"{key}:page:{page}"
    found = cache.get_many([head_key, html_key])
    head, html = found.get(head_key), found.get(html_key)
    if head is not None and page > _pages(head["n_rows"], per_page):
        return None
    if head is None or html is None:
        # Only this page's rows are released and drawn; the rest of the table is read for
        # the order, the page count and the "your team" line.
        table = leaderboard_table(board, split=split, user=user, attribute=attribute,
                                  viewer=viewer,
                                  shown=slice((page - 1) * per_page, page * per_page))
        head = _head(table)
        if page > _pages(head["n_rows"], per_page):
            return None
        html = render(table)
        cache.set_many({head_key: head, html_key: html}, settings.LEADERBOARD_CACHE_SECONDS)
    own_rows = [
        {"rank": rank, "submission": submission, "page": index // per_page + 1}
        for team in sorted(viewer.team_ids)
        for index, submission, rank in head["team_rows"].get(team, [])
    ]
    # Our own template's output, whether just rendered or read back from the cache.
    return BoardPage(table=head | {"leaderboard": board}, html=mark_safe(html), page=page,
                     pages=_pages(head["n_rows"], per_page), own_rows=own_rows)


def results_page(board: Leaderboard, *, split: str, user, metric: str,
                 render: Callable[[dict], str]) -> str:
    """The results page's body for ``user`` (``render(view)``: its HTML for
    ``results_view``'s view, drawing nothing but what everyone sharing the key shares), cached
    under the board's page key and the metric shown."""
    viewer = viewer_for(user, board.phase)
    key = board_cache.page_key(board, split=split, attribute="", viewer=viewer,
                               snapshot=leaderboard_snapshot_stamp(board, split))
    shown = metric if _METRIC_NAME.fullmatch(metric) else ""
    key = f"{key}:results:{shown}"
    html = cache.get(key)
    if html is None:
        html = render(results_view(board, split=split, user=user, metric=shown))
        cache.set(key, html, settings.LEADERBOARD_CACHE_SECONDS)
    # Our own template's output, whether just rendered or read back from the cache.
    return mark_safe(html)
