"""Where MaskLens reads shipped assets and writes user data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
DATA_DIR = ASSETS_DIR / "data"
SHIPPED_CHECKPOINTS_DIR = ASSETS_DIR / "checkpoints"


def user_home() -> Path:
    """Root of user-written data: ``$MASKLENS_HOME``, default ``~/.masklens``."""
    return Path(os.environ.get("MASKLENS_HOME", Path.home() / ".masklens")).expanduser()


def user_models_dir() -> Path:
    """Directory holding checkpoints trained by the user (created on demand by writers)."""
    return user_home() / "models"
