"""What a support manager opens: the roster workbook (`workbook.py`), the HTML report with
charts (`report.py`, figures in `charts.py`), and the tables both read (`tables.py`)."""
