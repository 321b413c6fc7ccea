"""The Python packages of the tests (requirements.txt), fetched on first use into
target/pydeps so that `cargo test` works on a fresh machine."""

import importlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPS = HERE.parent / "target" / "pydeps"
sys.path.insert(0, str(DEPS))


def need(module):
    """The module `module`, installed from requirements.txt first when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(DEPS), "-r", str(HERE / "requirements.txt")],
            check=True, stdout=sys.stderr,
        )
        importlib.invalidate_caches()
        return importlib.import_module(module)
