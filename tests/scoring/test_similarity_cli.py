"""``python -m scoring similarity`` and ``python -m scoring ensemble`` on flchain files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from scoring.cli import main
from scoring.field_report import field_ensembles_report, field_similarity
from scoring.io import read_predictions, read_truth

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def field(flchain, tmp_path_factory):
    """Four entries: the shared logistic model, age alone, kappa alone (with its own decisions),
    and a constant score."""
    folder = tmp_path_factory.mktemp("field")
    truth = folder / "truth.csv"
    flchain[["case_id", "label", "sex", "age_band"]].to_csv(truth, index=False)
    age = (flchain["age"] - flchain["age"].min()) / np.ptp(flchain["age"])
    entries = {
        "logit": flchain[["case_id", "score"]],
        "age": flchain[["case_id"]].assign(score=age.round(3)),
        "kappa": flchain[["case_id"]].assign(
            score=np.linspace(0, 1, len(flchain)), label=(flchain["age"] > 75).astype(int)
        ),
        "constant": flchain[["case_id"]].assign(score=0.5),
    }
    paths = []
    for name, frame in entries.items():
        path = folder / (f"{name}.csv.gz" if name == "logit" else f"{name}.csv")
        frame.to_csv(path, index=False)
        paths.append(str(path))
    return str(truth), paths, entries


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def decisions_of(frame, threshold=0.5):
    if "label" in frame:
        return frame["label"].to_numpy()
    return (frame["score"] >= threshold).astype(int).to_numpy()


def test_similarity_prints_square_matrices_named_by_file_stem(field, flchain, capsys):
    truth, paths, entries = field

    code, out, _ = run(capsys, "similarity", "--truth", truth, *paths, "--format", "json")
    report = json.loads(out)

    assert code == 0
    assert report["entries"] == ["logit", "age", "kappa", "constant"]
    assert report["groups"] == []
    assert set(report["measures"]) == {
        "agreement",
        "cohen_kappa",
        "error_consistency",
        "q_statistic",
        "disagreement",
        "double_fault",
        "score_correlation",
    }
    assert all(len(m) == 4 and all(len(row) == 4 for row in m) for m in report["measures"].values())
    labels = flchain["label"].to_numpy()
    logit, kappa = decisions_of(entries["logit"]), decisions_of(entries["kappa"])
    assert report["measures"]["cohen_kappa"][0][2] == pytest.approx(
        cohen_kappa_score(logit, kappa), abs=TOLERANCE
    )
    assert report["measures"]["error_consistency"][0][2] == pytest.approx(
        cohen_kappa_score(logit == labels, kappa == labels), abs=TOLERANCE
    )
    assert report["measures"]["score_correlation"][3] == [None] * 4


def test_similarity_within_each_sex_uses_only_those_patients(field, flchain, capsys):
    truth, paths, entries = field

    code, out, _ = run(
        capsys, "similarity", "--truth", truth, *paths, "--attributes", "sex", "--format", "json"
    )
    groups = json.loads(out)["groups"]

    assert code == 0
    assert [(g["attribute"], g["group"], g["n"]) for g in groups] == [
        ("sex", "F", 4350),
        ("sex", "M", 3524),
    ]
    female = (flchain["sex"] == "F").to_numpy()
    expected = np.corrcoef(entries["logit"]["score"][female], entries["age"]["score"][female])
    assert groups[0]["measures"]["score_correlation"][0][1] == pytest.approx(
        expected[0, 1], abs=TOLERANCE
    )


def test_similarity_prints_tables_with_a_dash_where_undefined(field, capsys):
    truth, paths, _ = field

    code, out, _ = run(capsys, "similarity", "--truth", truth, *paths)

    assert code == 0
    assert "score_correlation (all cases)" in out and "—" in out


def test_ensemble_reports_mean_vote_and_diverse_ensembles_of_the_top_k(field, flchain, capsys):
    truth, paths, entries = field

    code, out, _ = run(
        capsys, "ensemble", "--truth", truth, *paths, "--top-k", "2", "--format", "json"
    )
    ensembles = json.loads(out)["ensembles"]

    assert code == 0
    assert [e["name"] for e in ensembles] == ["mean_top2", "vote_top2", "diverse2"]
    labels = flchain["label"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = {name: roc_auc_score(labels, frame["score"]) for name, frame in entries.items()}
    top2 = sorted(single, key=single.get, reverse=True)[:2]
    mean = ensembles[0]
    assert mean["members"] == top2
    mean_scores = np.mean([entries[name]["score"] for name in top2], axis=0)
    assert mean["metrics"]["auroc"] == pytest.approx(
        roc_auc_score(labels, mean_scores), abs=TOLERANCE
    )
    assert mean["gain_over_best"]["auroc"] == pytest.approx(
        mean["metrics"]["auroc"] - max(single.values()), abs=TOLERANCE
    )
    worst = mean["worst_group"]
    in_group = (flchain[worst["attribute"]] == worst["group"]).to_numpy()
    assert worst["metrics"]["auroc"] == pytest.approx(
        roc_auc_score(labels[in_group], mean_scores[in_group]), abs=TOLERANCE
    )
    votes = sum(decisions_of(entries[name]) for name in top2)
    vote_decisions = (2 * votes >= 2).astype(int)
    assert ensembles[1]["metrics"]["sensitivity"] == pytest.approx(
        vote_decisions[labels == 1].mean(), abs=TOLERANCE
    )
    assert ensembles[2]["members"][0] == top2[0] and len(ensembles[2]["members"]) == 2


def test_ensemble_prints_a_table_by_default(field, capsys):
    truth, paths, _ = field

    code, out, _ = run(capsys, "ensemble", "--truth", truth, *paths, "--metric", "accuracy")

    assert code == 0
    assert "mean_top3" in out and "gain over best" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ensemble", "--metric", "nonsense"], "unknown metric 'nonsense'"),
        (["ensemble", "--top-k", "0"], "--top-k must be at least 1"),
        (["similarity", "--attributes", "height"], "unknown attributes: height"),
    ],
)
def test_invalid_options_exit_2_with_a_message(field, capsys, argv, message):
    truth, paths, _ = field

    code, _, err = run(capsys, argv[0], "--truth", truth, *paths, *argv[1:])

    assert code == 2
    assert message in err


def test_a_split_restricts_similarity_and_ensembles_to_its_cases(field, flchain):
    truth_path, paths, _ = field
    truth = read_truth(truth_path)
    predictions = [read_predictions(path, truth) for path in paths]
    names = ["logit", "age", "kappa", "constant"]
    male = np.asarray(truth.attributes["sex"]) == "M"

    split = field_similarity(names, truth, predictions, cases=male)
    by_sex = field_similarity(names, truth, predictions, attributes=["sex"])
    ensembles = field_ensembles_report(names, truth, predictions, k=2, cases=male)

    for name, matrix in split["measures"].items():
        expected = np.array(by_sex["groups"][1]["measures"][name], dtype=float)
        np.testing.assert_allclose(np.array(matrix, dtype=float), expected, atol=1e-12, rtol=0)
    mean_top2 = ensembles["ensembles"][0]
    labels = flchain["label"].to_numpy()[male]
    scores = np.mean([predictions[names.index(n)].scores[male] for n in mean_top2["members"]], 0)
    assert mean_top2["metrics"]["auroc"] == pytest.approx(
        roc_auc_score(labels, scores), abs=TOLERANCE
    )


def test_ensembles_of_a_ground_truth_without_attributes_have_no_worst_group(
    field, flchain, tmp_path, capsys
):
    _, paths, _ = field
    truth = tmp_path / "truth.csv"
    flchain[["case_id", "label"]].to_csv(truth, index=False)

    code, out, _ = run(capsys, "ensemble", "--truth", str(truth), *paths, "--format", "json")

    assert code == 0
    assert [e["worst_group"] for e in json.loads(out)["ensembles"]] == [None, None, None]
