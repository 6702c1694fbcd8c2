"""Reference data every installation needs (countries, treaties), loaded by `demarche migrate`.

Each loader is idempotent: it inserts what is missing and refreshes what changed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.letters import service as letters_service
from app.treaties import loading as treaties_loading

ReferenceLoader = Callable[[Session], object]

LOADERS: list[ReferenceLoader] = [
    countries_service.load,
    treaties_loading.load,
    letters_service.load_builtin,
]


def load(session: Session) -> None:
    for loader in LOADERS:
        loader(session)
        session.flush()
