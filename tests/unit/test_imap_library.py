"""imapclient through engine.imap_library: the same version, without importlib.metadata."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from tests.integration.test_cli import ROOT

CHECK = """\
import sys
from engine.imap_library import imapclient
print(imapclient.__version__, imapclient.version_info, "importlib.metadata" in sys.modules)
"""


def test_imapclient_keeps_its_version_but_skips_the_metadata_scan() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=True
    )
    version = metadata.version("imapclient")
    parts = tuple(int(p) for p in version.split("."))
    assert done.stdout.split(None, 1)[0] == version
    assert done.stdout.strip().endswith(f"{(*parts, 'final')!r} False")
