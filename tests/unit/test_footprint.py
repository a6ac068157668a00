"""What a running bot keeps in memory: Alembic and Pillow stay out until needed."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import REPO


def test_starting_the_bot_loads_neither_alembic_nor_pillow() -> None:
    # A fresh interpreter: this test process has imported both already.
    probe = (
        "import sys, bot.__main__; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'PIL', 'mako'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
