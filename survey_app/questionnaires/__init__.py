"""Questionnaires as data.

- `format`: the file format (frozen structures), loading and validation with `file: path.field: message`;
- `versions`: the stored versions campaigns use, registered once and read back by id.
"""
