"""Import modules as an image would, allowing only the distributions the image installs.

Run as ``python import_check.py SPEC_JSON`` with the workspace's interpreter, where every
package is installed: a finder placed first on ``sys.meta_path`` refuses any top-level module
that neither the standard library nor the image's distributions provide, so importing the
image's code fails exactly where the image would lack a dependency. Prints a JSON report.

SPEC_JSON: {"distributions": [normalised names], "packages": [workspace import names],
"modules": [to import], "walk": [packages whose every module is imported]}.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import json
import pkgutil
import re
import sys
import traceback


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Refuse:
    """Finder that refuses every top-level module the image would not have."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.refused: set[str] = set()

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.allowed or top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None  # let the normal finders do their work
        found = importlib.machinery.PathFinder.find_spec(top)
        if found is not None and found.origin and "site-packages" not in found.origin:
            return None  # the interpreter's own (e.g. _sysconfigdata_*), present in every image
        self.refused.add(top)
        raise ModuleNotFoundError(f"No module named {top!r} (not in this image)", name=top)


def main() -> None:
    spec = json.loads(sys.argv[1])
    distributions = set(spec["distributions"])
    allowed = set(spec["packages"])
    for top, owners in importlib.metadata.packages_distributions().items():
        if any(normalise(owner) in distributions for owner in owners):
            allowed.add(top)
    finder = Refuse(allowed)
    sys.meta_path.insert(0, finder)

    errors: dict[str, str] = {}

    def load(module: str) -> None:
        try:
            importlib.import_module(module)
        except Exception:
            errors[module] = traceback.format_exc(limit=-3)

    for module in spec["modules"]:
        load(module)
    for package in spec["walk"]:
        load(package)
        if package in sys.modules:
            for info in pkgutil.walk_packages(sys.modules[package].__path__, f"{package}.", onerror=load):
                if ".migrations" not in info.name:  # alembic scripts run only inside alembic
                    load(info.name)
    print(json.dumps({"errors": errors, "refused": sorted(finder.refused)}))


if __name__ == "__main__":
    main()
