"""The ``--format table`` renderings of every command: plain-text tables, numbers to 3 decimals
and "—" for an undefined value. One module, so that every command prints numbers the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scoring.vocabulary import (
    CLASS_LABELS,
    DECISIONS,
    PER_CASE,
    PROBABILITIES,
    SCORES,
    VALUES,
)
from scoring.vocabulary import SIMILARITY_MEASURES as MEASURES

if TYPE_CHECKING:  # the formatters only read these; importing them would load every engine
    from scoring.advisor import Advice
    from scoring.compare import Comparison
    from scoring.label_bias import LabelBiasResult
    from scoring.leaderboard import LeaderboardResult
    from scoring.metrics import Metric
    from scoring.result import MetricValue, SplitResult

# What a metric reads (``Metric.uses``), in the words of docs/metrics.md.
USES_WORDS = {DECISIONS: "decisions", SCORES: "scores", CLASS_LABELS: "predicted classes",
              PROBABILITIES: "class probabilities", VALUES: "values",
              PER_CASE: "per-case values"}


def advice_table(advice: Advice) -> str:
    """The fingerprint in words, then the recommended metrics and the warnings, each with its
    reason and the section of Metrics Reloaded."""
    from scoring.advisor import PAPER

    lines = [*advice.notes, "", "recommended:"]
    lines += [f"  {item.metric:<18} {item.reason} [{item.section}]" for item in advice.recommended]
    lines += ["", "warnings:" if advice.warnings else "warnings: none"]
    lines += [f"  {item.metric:<18} {item.reason} [{item.section}]" for item in advice.warnings]
    lines += ["", f"source: {PAPER}"]
    return "\n".join(lines)


def number(value: float | None) -> str:
    """A value to 3 decimals; "—" when it is undefined (None)."""
    return "—" if value is None else f"{value:.3f}"


def p_value(value: float | None) -> str:
    """A p-value to 3 decimals, "<0.001" below that, "—" when the test is undefined."""
    if value is None:
        return "—"
    return "<0.001" if value < 0.0005 else f"{value:.3f}"


def interval(ci: tuple[float, float] | None) -> str:
    """A 95% interval as ``[low, high]`` to 3 decimals; "—" when it is undefined."""
    return "—" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def cell(entry: MetricValue) -> str:
    """A metric's value followed by its 95% interval when it has one."""
    text = number(entry.value)
    if entry.ci:
        text += " " + interval(entry.ci)
    return text


def table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns as wide as their widest cell, the header underlined with dashes."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def metrics_listing(metrics: list[Metric]) -> str:
    """One line per metric: id, direction and description."""
    return "\n".join(f"{m.id:<28} {m.direction:<7} {m.description}" for m in metrics)


def metrics_markdown(task: str, metrics: list[Metric]) -> str:
    """The metrics of ``task`` as docs/metrics.md shows them: the notation, a Markdown table
    (id, direction, what it reads, definition, when undefined, how scikit-learn or scipy
    differ) and a line per metric whose estimate is biased. The registry is the only source;
    a test checks that the docs hold exactly this."""

    from scoring.metrics import NOTATION

    def escaped(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [NOTATION[task], "",
             "| id | better | uses | definition | undefined when | scikit-learn / scipy |",
             "|---|---|---|---|---|---|"]
    lines += [
        "| " + " | ".join([f"`{m.id}`", m.direction, USES_WORDS[m.uses], escaped(m.formula),
                            escaped(m.undefined or "never"), escaped(m.sklearn or "—")]) + " |"
        for m in metrics
    ]
    biased = [m for m in metrics if m.biased_estimate]
    if biased:
        lines.append("")
        lines += [f"**Biased estimate.** `{m.id}`: {m.bias}" for m in biased]
    return "\n".join(lines)


def evaluation_table(result: SplitResult) -> str:
    """The ``--format table`` rendering of :func:`scoring.evaluate.evaluate`'s result."""
    metrics = result.metric_ids
    parts = [f"{result.task}, {result.n_cases} cases"
             + (f", threshold {result.threshold}" if result.threshold is not None else "")]
    parts.append(table(["metric", "overall [95% CI]"],
                       [[m, cell(result.overall[m])] for m in metrics]))
    attributes = result.attributes
    for attribute in attributes:
        rows = [
            [group.group, str(group.n) + (" small" if group.small else "")]
            + [number(group.value(m)) for m in metrics]
            for group in result.groups_of(attribute)
        ]
        parts.append(table([attribute, "n", *metrics], rows))
    if attributes:
        rows = [
            [m, a, number(s.difference), number(s.ratio), s.worst_group or "—",
             number(s.worst_value)]
            for m in metrics for a, s in result.fairness[m].items()
        ]
        parts.append(table(["metric", "attribute", "difference", "ratio", "worst group",
                            "worst value"], rows))
        keys = list(next(iter(result.parity.values())).measures)
        rows = [[a, *(number(p.get(k)) for k in keys)] for a, p in result.parity.items()]
        parts.append(table(["attribute", *keys], rows))
    return "\n\n".join(parts)


def describe_table(report: dict) -> str:
    """The ``--format table`` rendering of :func:`scoring.describe.describe`'s report."""
    binary = report["task"] == "binary"
    parts = [f"{report['task']}, {report['n_cases']} cases"
             + (f", positive rate {report['positive_rate']:.3f}" if binary else "")]
    for attribute in report["attributes"]:
        header = [attribute["attribute"], "n", "share"]
        if binary:
            header += ["positives", "positive rate", "sensitivity ± (95%)"]
        rows = []
        for group in attribute["groups"]:
            row = [group["group"], str(group["n"]) + (" small" if group["small"] else ""),
                   f"{group['share']:.3f}"]
            if binary:
                row += [str(group["positives"]), f"{group['positive_rate']:.3f}",
                        number(group["sensitivity_half_width"])]
            rows.append(row)
        parts.append(
            table(header, rows)
            + f"\neffective number of groups {attribute['effective_groups']:.2f}; smallest: "
            + ", ".join(attribute["smallest"])
            + "".join(f"\npower of {group['group']}: {power_line(group['power'])}"
                      for group in attribute["groups"] if "power" in group)
        )
    if report["warnings"]:
        parts.append("warnings:\n" + "\n".join(f"- {w}" for w in report["warnings"]))
    return "\n\n".join(parts)


def power_line(power: dict) -> str:
    """One group's :func:`scoring.power.group_power` in a line: cases needed, cases it has and
    whether that is enough, for sensitivity (positives) and specificity (negatives)."""
    def proportion(name: str, cases: str) -> str:
        part = power[name]
        verdict = "enough" if part["enough"] else "not enough"
        return f"{name} needs {part['needed']} {cases}, has {part['have']} ({verdict})"

    return (f"{proportion('sensitivity', 'positives')}; "
            f"{proportion('specificity', 'negatives')}; "
            f"AUROC ± {number(power['auroc']['half_width'])}")


def similarity_table(report: dict) -> str:
    """One matrix per measure, overall then per group; "—" where undefined."""
    entries = report["entries"]

    def matrices(title: str, measures: dict) -> list[str]:
        return [
            f"{name} ({title})\n"
            + table(
                ["", *entries],
                [
                    [entry, *(number(v) for v in row)]
                    for entry, row in zip(entries, measures[name], strict=True)
                ],
            )
            for name in MEASURES
        ]

    parts = matrices("all cases", report["measures"])
    for group in report["groups"]:
        title = f"{group['attribute']} = {group['group']}, n = {group['n']}"
        parts += matrices(title, group["measures"])
    return "\n\n".join(parts)


def ensemble_table(report: dict, metric: str) -> str:
    """One row per ensemble: members, the primary metric, its gain, and the worst group."""
    rows = []
    for ensemble in report["ensembles"]:
        worst = ensemble["worst_group"]
        rows.append(
            [
                ensemble["name"],
                ", ".join(ensemble["members"]),
                number(ensemble["metrics"][metric]),
                number(ensemble["gain_over_best"][metric]),
                "—" if worst is None else f"{worst['attribute']} = {worst['group']}",
                "—" if worst is None else number(worst["metrics"][metric]),
            ]
        )
    header = ["ensemble", "members", metric, "gain over best", "worst group", f"worst {metric}"]
    return table(header, rows)


def leaderboard_table(result: LeaderboardResult) -> str:
    """Rank, entry, the rule's score, rank interval, P(first) and every column; then the what-if
    table."""
    columns = list(result.entries[0].metrics)
    rows = [
        [str(entry.rank), entry.name, number(entry.score),
         "—" if entry.rank_interval is None else "–".join(map(str, entry.rank_interval)),
         number(entry.p_first), *(number(entry.metrics[c]) for c in columns)]
        for entry in result.entries
    ]
    tau = "—" if result.kendall_tau is None else f"{result.kendall_tau:.3f}"
    parts = [
        f"{result.ranking} ranking on {', '.join(result.ranked)}; {result.n_cases} cases, "
        f"{result.bootstrap} bootstrap resamples (seed {result.seed}); mean Kendall tau {tau}",
        table(["rank", "entry", "score", "95% rank interval", "P(first)", *columns], rows),
        table(["if ranked by", "winner"],
              [[c, ", ".join(w) or "—"] for c, w in result.what_if.items()]),
    ]
    return "\n\n".join(parts)


def sensitivity_table(panel: dict) -> str:
    """The sensitivity panel (``SensitivityPanel.to_dict``): per variant, Kendall's tau-b
    against the official ranking, its winners and whether the winner changed."""
    def label(variant: dict) -> str:
        if variant["kind"] == "column":
            return f"{variant['column']} alone"
        if variant["kind"] == "median":
            return f"{variant['rule']}, median of {variant['column']} over cases"
        return variant["rule"] + (f" on {variant['column']}" if variant["column"] else "")

    rows = [
        [label(v), number(v["kendall_tau"]), ", ".join(v["winners"]) or "—",
         "yes" if v["winner_changed"] else "no"]
        for v in panel["variants"]
    ]
    return (f"How the ranking moves: against the official {panel['rule']} ranking "
            f"(winner {', '.join(panel['winners']) or '—'})\n\n"
            + table(["ranked by", "Kendall tau-b", "winner", "winner changed"], rows))


def label_bias_table(result: LabelBiasResult) -> str:
    """Per entry: rank and score before and after hiding the positives."""
    rows = [
        [e.name, str(e.rank_before), str(e.rank_after), number(e.score_before),
         number(e.score_after)]
        for e in result.entries
    ]
    tau = "—" if result.kendall_tau is None else f"{result.kendall_tau:.3f}"
    return (
        f"{result.hidden} of {result.positives} positives with {result.attribute} = "
        f"{result.group} hidden as negatives (share {result.share}, seed {result.seed}); "
        f"Kendall tau before/after {tau}\n\n"
        + table(["entry", "rank before", "rank after", "score before", "score after"], rows)
    )


def comparison_table(result: Comparison) -> str:
    """The entries in rank order, then one row per pair: the difference a − b with its paired
    95% interval, the test, its p-value, Holm's adjusted p and whether the pair differs."""
    tied = ", ".join(result.tied_with_leader) or "—"
    rows = [
        [pair.a, pair.b, number(pair.difference), interval(pair.ci), pair.test,
         p_value(pair.p_value), p_value(pair.p_holm), "yes" if pair.significant else "no"]
        for pair in result.pairs
    ]
    return "\n\n".join([
        f"{result.metric}; Holm-corrected at alpha {result.alpha}\n"
        f"entries in rank order: {', '.join(result.entries)}\ntied with the leader: {tied}",
        table(["a", "b", "difference", "95% CI", "test", "p", "p_holm", "significant"], rows),
    ])
