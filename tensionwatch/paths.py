"""Where the seeded files live: ``seeds/`` beside the installed packages.

tensionwatch is installed in its own environment from its source tree
(``pip install -e .``, as ``make`` and the Dockerfile do), so the seeds are
found next to the code; ``TENSIONWATCH_SEEDS`` points elsewhere if needed.
"""

from __future__ import annotations

import os
from pathlib import Path


def seeds_dir() -> Path:
    override = os.environ.get("TENSIONWATCH_SEEDS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "seeds"


def seeded_rules() -> Path:
    return seeds_dir() / "rules.yaml"


def seeded_feeds() -> Path:
    return seeds_dir() / "feeds.toml"


def archive_feeds() -> Path:
    return seeds_dir() / "archive" / "archive.toml"
