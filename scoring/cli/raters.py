"""``python -m scoring raters``: a thin caller of :func:`scoring.raters.raters_report` — the
raters' agreement (the human ceiling), every entry against each rater, the majority and the
official label, and the rank intervals across raters."""

from __future__ import annotations

import argparse
import json

from scoring.cli.format import number, table
from scoring.cli.inputs import add_field_arguments, comma_list, read_entries, split_cases
from scoring.rater_columns import rater_name
from scoring.vocabulary import SPLITS, TIE_RULES


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "raters", help="agreement of the raters and the entries scored against each of them")
    add_field_arguments(sub, any_task=True)
    sub.add_argument("--metrics", type=comma_list, required=True,
                     help="metric ids; the first leads the rank intervals")
    sub.add_argument("--tie-rule", choices=TIE_RULES, default="official",
                     help="how a tie of the raters' vote is broken (default: the official label)")
    sub.add_argument("--split", choices=SPLITS, help="only this split's cases (default all)")
    sub.set_defaults(run=run_raters)


def run_raters(args: argparse.Namespace) -> int:
    from scoring.raters import raters_report

    names, truth, predictions = read_entries(args)
    report = raters_report(truth, dict(zip(names, predictions, strict=True)),
                           metrics=args.metrics, threshold=args.threshold,
                           tie_rule=args.tie_rule, cases=split_cases(truth, args.split))
    print(json.dumps(report, allow_nan=False) if args.format == "json" else raters_table(report))
    return 0


def _reference(name: str) -> str:
    return {"label": "official label", "majority": "majority"}.get(name, rater_name(name))


def raters_table(report: dict) -> str:
    """The report as plain-text tables: agreement, scores per reference, rank intervals."""
    parts = []
    ceiling = report["ceiling"]
    if ceiling:
        agreement = ceiling["agreement"]
        parts.append(f"Raters' agreement ({agreement['n_cases']} cases): Fleiss' kappa "
                     f"{number(agreement['fleiss_kappa'])}, unanimous on "
                     f"{number(agreement['unanimous'])} of the cases")
        parts.append(table(["rater", "rater", "Cohen's kappa", "agreement"],
                           [[p["a"], p["b"], number(p["kappa"]), number(p["agreement"])]
                            for p in agreement["pairwise"]]))
        if ceiling["metrics"]:
            parts.append("Human ceiling: each rater as an entry")
            parts.append(table(
                ["rater", *(f"{m} vs others" for m in ceiling["metrics"]),
                 *(f"{m} vs label" for m in ceiling["metrics"])],
                [[row["rater"], *(number(row["against_others"][m]) for m in ceiling["metrics"]),
                  *(number(row["against_label"][m]) for m in ceiling["metrics"])]
                 for row in ceiling["raters"]]))
        if ceiling["not_scored"]:
            parts.append("Not scored for raters (a hard label is no score): "
                         + ", ".join(ceiling["not_scored"]))
    for metric in report["metrics"]:
        parts.append(f"{metric} against each reference")
        parts.append(table(
            ["entry", *map(_reference, report["references"])],
            [[entry, *(number(by[name][metric]) for name in report["references"])]
             for entry, by in report["scores"].items()]))
    for item in report["rank_intervals"]:
        stays = item["leader_stays"]
        parts.append(f"Ranks on {item['metric']} across raters; the official leader stays "
                     f"first under {number(stays)} of the raters")
        parts.append(table(
            ["entry", *map(_reference, item["references"]), "best–worst", "first under"],
            [[entry, *(str(item["ranks"][entry][r]) for r in item["references"]),
              f"{item['low'][entry]}–{item['high'][entry]}", number(item["first_share"][entry])]
             for entry in item["entries"]]))
    return "\n\n".join(parts)
