"""Metric registry and per-case scorer plugins."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from scoring import evaluate, registry, scorers


def test_registry_lists_every_metric_of_a_task_with_direction_and_description():
    binary = {m.id: m for m in registry.metrics_for("binary")}
    assert {"accuracy", "balanced_accuracy", "sensitivity", "specificity", "ppv", "npv", "f1",
            "mcc", "auroc", "auprc", "brier", "log_loss", "ece", "net_benefit"} <= set(binary)
    assert binary["brier"].direction == "lower" and not binary["brier"].higher_is_better
    assert binary["auroc"].direction == "higher"
    assert all(m.description and m.task == "binary" for m in binary.values())
    assert {m.id for m in registry.metrics_for("regression")} >= {"mae", "rmse", "r2", "pearson"}
    multiclass = {m.id for m in registry.metrics_for("multiclass")}
    assert "quadratic_weighted_kappa" in multiclass and "auroc" in multiclass


def test_unknown_metric_ids_are_refused_with_the_valid_ones_named():
    with pytest.raises(KeyError, match="available: accuracy"):
        registry.get_metric("dice", "binary")
    assert registry.check_metrics("regression", ["mae", "auroc"]) == [
        registry.check_metrics("regression", ["auroc"])[0]
    ]


def test_the_example_scorer_gives_mean_and_median_per_group(binary_truth, binary_predictions):
    result = evaluate(binary_truth, binary_predictions, attributes=["sex"],
                      metrics=["absolute_error.mean", "absolute_error.median"])
    errors = np.abs(binary_predictions.scores - binary_truth.labels)
    female = binary_truth.attributes["sex"] == "F"
    group = result.group("sex", "F")
    # numpy as the oracle, to 1e-12.
    assert result.value("absolute_error.mean") == pytest.approx(errors.mean(), abs=1e-12)
    assert group.value("absolute_error.median") == np.median(errors[female])
    assert result.worst_group("absolute_error.mean", "sex") == max(
        ["F", "M"], key=lambda s: errors[binary_truth.attributes["sex"] == s].mean())


def test_median_bootstrap_interval_brackets_the_median(binary_truth, binary_predictions):
    result = evaluate(binary_truth, binary_predictions, attributes=[], bootstrap=100,
                      metrics=["absolute_error.median"])
    low, high = result.metric("absolute_error.median").ci
    assert low <= result.value("absolute_error.median") <= high


def test_an_installed_entry_point_scorer_becomes_two_metrics(tmp_path, monkeypatch,
                                                            binary_truth, binary_predictions):
    (tmp_path / "squared_plugin.py").write_text(textwrap.dedent("""
        from scoring.scorers import scorer

        @scorer(name="squared_error", tasks=("binary",), direction="lower",
                description="Per-case squared error")
        def squared_error(truth, predictions):
            return (predictions.scores - truth.labels) ** 2
    """))
    info = tmp_path / "squared_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: squared-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[cheetah.scorers]\nsquared_error = squared_plugin:squared_error\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ids = {m.id for m in registry.metrics_for("binary")}
    assert {"squared_error.mean", "squared_error.median"} <= ids
    result = evaluate(binary_truth, binary_predictions, attributes=[],
                      metrics=["squared_error.mean", "brier"])
    assert result.value("squared_error.mean") == pytest.approx(result.value("brier"), abs=1e-12)
    sys.modules.pop("squared_plugin", None)


def test_a_settings_path_loads_a_scorer(monkeypatch):
    monkeypatch.setattr(scorers, "_registered", dict(scorers._registered))
    loaded = scorers.load("scoring.scorers:absolute_error")
    assert loaded is scorers.absolute_error
    with pytest.raises(TypeError):
        scorers.load("scoring.scorers:register")


def test_scorer_values_must_be_one_finite_number_per_case(binary_truth, binary_predictions):
    broken = scorers.Scorer("broken", ("binary",), "lower", "NaN everywhere",
                            lambda truth, predictions: np.full(truth.n, np.nan))
    with pytest.raises(ValueError, match="not finite"):
        broken.values(binary_truth, binary_predictions)
