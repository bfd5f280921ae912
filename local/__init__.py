"""Local stand-ins for AWS and Infobip. Like Lambda's /opt/python, the layer's package is importable."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
