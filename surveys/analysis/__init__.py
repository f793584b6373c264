"""The study's own question, answered: the participation funnel and retention per design arm.

Plain pandas/numpy/scipy, no Django (an import-linter contract in ``pyproject.toml`` keeps it
so): the web layer builds a people table (``surveys.analysis.people``) from the database, and
the CLI (``python -m surveys.analysis``) reads the same table from a CSV file. Definitions and
sources are in docs/studies.md, "Funnel and retention".
"""

#: Cells of fewer people than this are withheld unless a caller says otherwise: the default of
#: a study's small-cell threshold (``Study.export_min_group``) and of the CLI's ``--threshold``.
SMALL_CELL_THRESHOLD = 5
