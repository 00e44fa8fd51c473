"""Files of the home readable by the service user only (C2: the quarantine, the raw layer, the
Dagster run history and the app's store can hold personal data).

`private_home()` is called first thing by every entry point — the CLI, the Dagster code location
(`tranquillite.definitions`, imported by the webserver, the daemon and every run worker) and the
restitution app (`apps/streamlit/app.py`, `tranquillite.app_core.serve`): it sets the process
umask to 077, so every file and folder created afterwards is 0600 / 0700, and creates the home
0700 (an existing home owned by the service user is brought to 0700).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_home(home: Path | None = None) -> Path:
    os.umask(PRIVATE_UMASK)
    if home is None:
        from tranquillite.settings import paths

        home = paths().home
    home = Path(home)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if home.stat().st_uid == os.getuid() and home.stat().st_mode & 0o077:
            home.chmod(0o700)
    except OSError:  # a home we do not own is the operator's choice: left as it is
        pass
    return home
