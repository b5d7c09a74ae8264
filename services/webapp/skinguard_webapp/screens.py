"""The screens and who may open them: the one definition the pages, the navigation and the
server-side check of every page URL read. The services enforce the same roles on their APIs."""

from __future__ import annotations

from dataclasses import dataclass

from skinguard_chassis.auth import Role

LABELLERS = frozenset({Role.annotator, Role.importer, Role.admin})
ADMINS = frozenset({Role.admin})


@dataclass(frozen=True)
class Screen:
    path: str  # the first path segment: /label, /images/<id>, ...
    title: str
    roles: frozenset[Role]


SCREENS: tuple[Screen, ...] = (
    Screen("label", "Label", LABELLERS),
    Screen("images", "Images", frozenset({Role.uploader, Role.importer, Role.admin})),
    Screen("adjudication", "Adjudication", ADMINS),
    Screen("agreement", "Agreement", ADMINS),
    Screen("datasets", "Datasets", ADMINS),
    Screen("training", "Training", ADMINS),
    Screen("models", "Models", ADMINS),
    Screen("monitoring", "Monitoring", ADMINS),
)
BY_PATH = {screen.path: screen for screen in SCREENS}


def screens_for(role: str) -> list[Screen]:
    return [screen for screen in SCREENS if role in screen.roles]
