"""Minping (民评): citizen appraisal surveys from QR code to defensible unit scores."""

import os

# Piccolo finds its engine through this variable the first time a table is used; pointing it at the
# module inside the package makes an installed `minping` work from any working directory.
os.environ.setdefault("PICCOLO_CONF", "survey_app.piccolo_conf")

__version__ = "0.1.0"
