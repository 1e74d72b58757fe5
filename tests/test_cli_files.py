"""Files the command line reads and writes: `wfm forecast backtest --out` writes the scores,
and a spreadsheet given where a CSV is expected is read (.xlsx, told by its bytes whatever its
name) or refused with a message that says what to do (.xls)."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.errors import InputError
from wfm.io import read_text_table, spreadsheet_kind

runner = CliRunner()


def history_frame(days=21):
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2026-02-02 00:00")
    stamps = []
    for d in range(days):
        minutes = np.sort(rng.uniform(8 * 60, 18 * 60, rng.poisson(40)))
        stamps += [start + pd.Timedelta(days=d, minutes=round(float(m))) for m in minutes]
    return pd.DataFrame({"created_at": stamps, "queue": np.where(np.arange(len(stamps)) % 2, "sales", "support"),
                         "handle_seconds": rng.integers(60, 600, len(stamps))})


def write_xlsx(frame: pd.DataFrame, path, typed=True):
    """As a user's spreadsheet: date cells as dates (or text), numbers as numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([v.to_pydatetime() if typed and isinstance(v, pd.Timestamp) else
                      (str(v) if not typed else (v.item() if hasattr(v, "item") else v)) for v in row])
    book.save(path)
    return path


def test_backtest_out_writes_the_scores_table(tmp_path):
    history = tmp_path / "history.csv"
    history_frame(days=42).assign(created_at=lambda f: f["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
        history, index=False)
    out = tmp_path / "scores.csv"
    res = runner.invoke(app, ["forecast", "backtest", str(history), "--timezone", "Europe/Berlin",
                              "--folds", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out)
    assert {"model", "queue", "folds", "wape", "mase", "bias", "coverage"} <= set(scores.columns)
    assert set(scores["queue"]) == {"sales", "support"}
    assert {"seasonal_naive", "weekly_profile", "daily_profile"} <= set(scores["model"])
    assert ((scores["wape"] >= 0) & (scores["folds"] == 2)).all()
    for r in scores.to_dict("records"):  # the file holds what the table on stderr shows
        assert f"{100 * r['wape']:.1f}%" in res.stderr
    assert res.stdout.strip() == ""


@pytest.mark.parametrize("name", ["history.xlsx", "history.csv", "export"])
def test_an_xlsx_workbook_is_read_like_its_csv_whatever_its_name(tmp_path, name):
    frame = history_frame()
    csv = tmp_path / "same.csv"
    frame.assign(created_at=frame["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(csv, index=False)
    book = write_xlsx(frame, tmp_path / name)
    assert spreadsheet_kind(book) == "xlsx" and spreadsheet_kind(csv) is None
    args = ["--timezone", "Europe/Berlin", "--days", "2", "--folds", "1", "--model", "weekly_profile"]
    from_csv = runner.invoke(app, ["forecast", str(csv), *args])
    from_book = runner.invoke(app, ["forecast", str(book), *args])
    assert from_book.exit_code == 0, from_book.output
    assert from_book.stdout == from_csv.stdout and len(from_book.stdout.splitlines()) > 10


def test_a_bad_cell_in_a_workbook_names_its_row_and_column(tmp_path):
    frame = history_frame(days=14).astype({"handle_seconds": object})
    frame.loc[4, "handle_seconds"] = "n/a"
    book = write_xlsx(frame, tmp_path / "history.csv")
    res = runner.invoke(app, ["forecast", str(book), "--timezone", "Europe/Berlin"])
    assert res.exit_code == 2
    assert "line 6, handle_seconds=" in res.stderr  # sheet row 6: header row 1, then rows 0-4


def test_an_old_xls_workbook_says_to_save_it_as_csv(tmp_path):
    fake = tmp_path / "requirements.csv"  # an .xls renamed: the OLE2 signature, then anything
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)
    for args in (["forecast", str(fake), "--timezone", "Europe/Berlin"], ["staff", "--input", str(fake)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "this looks like an Excel workbook" in res.stderr and "save it as CSV" in res.stderr
        assert "Traceback" not in res.output and "tokeniz" not in res.output


def test_staff_reads_an_xlsx_interval_file(tmp_path):
    frame = pd.DataFrame({"interval_start": ["2026-03-02T09:00:00+01:00", "2026-03-02T09:30:00+01:00"],
                          "volume": [100, 0], "aht_seconds": [180, 0]})
    book = write_xlsx(frame, tmp_path / "volumes.xlsx", typed=False)
    res = runner.invoke(app, ["staff", "--input", str(book), "--format", "csv"])
    assert res.exit_code == 0, res.output
    req = pd.read_csv(pd.io.common.StringIO(res.stdout))
    assert list(req["volume"]) == [100, 0] and req["agents"].iloc[0] > 0


def test_a_plain_zip_is_not_taken_for_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    assert spreadsheet_kind(path) is None
    assert read_text_table(path, "input").to_dict("records") == [{"a": "1", "b": "2"}]


def test_an_empty_workbook_is_an_input_error(tmp_path):
    book = openpyxl.Workbook()
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(InputError, match="empty"):
        read_text_table(tmp_path / "empty.xlsx", "input")
