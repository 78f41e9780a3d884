"""Importing another tool's questionnaire file, by its kind: XLSForm (.xlsx, .xls, .csv) or LimeSurvey (.lss)."""

from __future__ import annotations

from survey_app.questionnaires import limesurvey, xlsform
from survey_app.questionnaires.importing import Imported, ImportRefused

SUFFIXES = (*xlsform.SUFFIXES, *limesurvey.SUFFIXES)


def read(data: bytes, filename: str) -> Imported:
    """The questionnaire and report for an uploaded or named file.

    :raise ImportRefused: one line, naming the file, when it cannot be imported.
    """
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in limesurvey.SUFFIXES:
        return limesurvey.read(data, filename)
    if suffix in xlsform.SUFFIXES:
        return xlsform.read(data, filename)
    raise ImportRefused(f"{filename or 'the file'}: not a file Minping imports (.xlsx, .xls, .csv or .lss)")
