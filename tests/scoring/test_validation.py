"""Reading ground truth and predictions: every problem reported at once, never a label."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

from scoring import InputError, read_predictions, read_truth

TRUTH = b"case_id,label,sex,split\np1,1,F,public\np2,0,M,private\np3,1,,public\np4,0,F,public\n"


def truth(data: bytes = TRUTH, **options):
    return read_truth(io.BytesIO(data), **options)


def problems(call, *args, **kwargs) -> list[str]:
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_truth_keeps_attributes_and_split_apart_with_unknown_for_missing_values():
    result = truth()
    assert result.n == 4
    assert list(result.attributes) == ["sex"]
    assert list(result.attributes["sex"]) == ["F", "M", "unknown", "F"]
    assert list(result.split) == ["public", "private", "public", "public"]
    assert list(result.labels) == [1, 0, 1, 0]


def test_binary_labels_accept_true_and_false():
    result = truth(b"case_id,label\na,true\nb,FALSE\nc,1.0\n")
    assert list(result.labels) == [1, 0, 1]


def test_predictions_are_aligned_to_the_truth_order_whatever_the_row_and_column_order():
    predictions = read_predictions(io.BytesIO(b"score,case_id\n0.4,p3\n0.1,p1\n0.9,p4\n0.2,p2\n"),
                                   truth())
    assert list(predictions.scores) == [0.1, 0.2, 0.4, 0.9]


def test_gzip_predictions_are_detected_by_content_not_name(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_bytes(gzip.compress(b"case_id,score\np1,0.1\np2,0.2\np3,0.3\np4,0.4\n"))
    assert list(read_predictions(path, truth()).scores) == [0.1, 0.2, 0.3, 0.4]


def test_every_prediction_problem_is_reported_at_once_with_counts_and_first_ids():
    ids = [f"p{i:05d}" for i in range(100)]
    reference = truth(("case_id,label\n" + "".join(f"{i},{n % 2}\n" for n, i in
                                                   enumerate(ids))).encode())
    rows = [f"{i},0.5" for i in ids[:50]] + ["p00000,0.5", "x1,0.3", "p00060,abc", "p00061,",
                                             "p00062,1.5", "p00063,NaN"]
    found = problems(read_predictions, io.BytesIO(("case_id,score\n" + "\n".join(rows)).encode()),
                     reference)
    joined = "\n".join(found)
    assert "1 case id appears more than once, first: p00000" in found
    assert "1 case id is not in the ground truth, first: x1" in found
    assert "46 cases missing, first: p00050, p00051, p00052, p00053, p00054, …" in found
    assert "1 score is not a finite number, first: p00060" in found
    assert "2 scores are empty or NaN, first: p00061, p00063" in found
    assert "1 score is outside [0, 1], first: p00062" in found
    assert "Traceback" not in joined


def test_missing_and_unexpected_columns_name_what_was_expected():
    found = problems(read_predictions, io.BytesIO(b"id,prob\np1,0.2\n"), truth())
    expected = "expected columns: case_id, score and optionally label"
    # One line, which names the expected columns once.
    assert found == [f"missing columns 'case_id', 'score'; unexpected columns: id, prob "
                     f"({expected})"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"case_id,score\n", "the file has a header but no cases"),
        ("case_id,score\np1,0.5\n".encode("utf-16"), "the file is not UTF-8 text"),
        (b'case_id,score\np1,"0.5\n', "the file is not a valid CSV file"),
        (b"case_id,score\np1,0.5,7\n", "row 2 has 3 fields where the header has 2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not"),
        (b"\x1f\x8bnot really gzip", "cannot be decompressed"),
    ],
)
def test_unreadable_files_give_one_clear_line(data, message):
    found = problems(read_predictions, io.BytesIO(data), truth())
    assert len(found) == 1
    assert message in found[0]


def test_a_gzip_bomb_is_refused_once_it_expands_past_the_size_limit():
    """The limit holds for the decompressed CSV, so a bomb never takes more memory than a
    plain file may: here 1 kB of gzip expanding to 10 MB, with a 100 kB limit."""
    bomb = gzip.compress(b"case_id,score\n" + b"0" * 10_000_000)
    assert len(bomb) < 100_000
    found = problems(read_predictions, io.BytesIO(bomb), truth(), max_bytes=100_000)
    assert found == ["the file expands to more than 100 kB when decompressed, over the size limit"]


def test_files_over_the_size_limit_are_refused_before_parsing():
    found = problems(read_predictions, io.BytesIO(b"case_id,score\n" + b"p1,0.5\n" * 1000),
                     truth(), max_bytes=1000)
    assert found == ["the file is larger than the limit of 1 kB"]


def test_ground_truth_problems_never_show_a_label():
    data = b"case_id,label\np1,1\np1,0\n,1\np4,yes\np5,2\n"
    found = problems(truth, data)
    assert "1 row has an empty case_id, first rows: 4" in found
    assert "1 case id appears more than once, first: p1" in found
    assert "2 labels are not 0 or 1 (true/false also accepted), first rows: 5, 6" in found
    assert not any("yes" in line or " 2," in line for line in found)


def test_ground_truth_split_must_be_public_or_private():
    found = problems(truth, b"case_id,label,split\np1,1,public\np2,0,test\n")
    assert found == ["1 split value is not 'public' or 'private', first rows: 3"]


def test_multiclass_classes_follow_the_declared_order_or_sort_naturally():
    data = b"case_id,label\na,10\nb,9\nc,2\n"
    assert truth(data, task="multiclass").classes == ("2", "9", "10")
    declared = truth(data, task="multiclass", classes=["10", "9", "2"])
    assert declared.classes == ("10", "9", "2")


def test_multiclass_probabilities_must_cover_every_class_and_sum_to_one():
    reference = truth(b"case_id,label\na,x\nb,y\nc,z\n", task="multiclass")
    incomplete = b"case_id,label,p_x,p_y\na,x,0.5,0.5\nb,y,0.5,0.5\nc,z,0,1\n"
    found = problems(read_predictions, io.BytesIO(incomplete), reference, task="multiclass")
    assert any("missing p_z" in line for line in found)
    bad = b"case_id,label,p_x,p_y,p_z\na,x,0.5,0.6,0\nb,w,0.2,0.3,0.5\nc,z,-0.1,0.1,1\n"
    found = problems(read_predictions, io.BytesIO(bad), reference, task="multiclass")
    assert "1 label is not one of the classes x, y, z, first: b" in found
    assert "1 probability is outside [0, 1], first: c" in found
    assert "1 probability row does not sum to 1 (± 1e-6), first: a" in found


def test_regression_reads_numbers_and_reports_non_numbers():
    reference = truth(b"case_id,label\na,1.5\nb,-2\n", task="regression")
    assert np.allclose(reference.labels, [1.5, -2.0])
    found = problems(read_predictions, io.BytesIO(b"case_id,value\na,inf\nb,x\n"), reference,
                     task="regression")
    assert found == ["2 values are not finite numbers, first: a, b"]


def test_a_missing_file_is_an_input_error_not_a_traceback(tmp_path):
    found = problems(read_truth, tmp_path / "absent.csv")
    assert found[0].startswith("cannot read")


def test_spaces_around_cells_and_short_rows_are_tolerated():
    reference = truth(b"case_id , label ,sex\n p1 , 1 , F \np2,0\n")
    assert list(reference.case_ids) == ["p1", "p2"]
    assert list(reference.attributes["sex"]) == ["F", "unknown"]
    predictions = read_predictions(io.BytesIO(b"case_id,score\n p2 , 0.25\np1,1\n"), reference)
    assert list(predictions.scores) == [1.0, 0.25]
