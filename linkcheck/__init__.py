"""linkcheck: find every cited source of a submission, check it, and say which evidence is gone.

The public API is the names in `__all__`; every other module and name is private. They are
loaded on first use, so `import linkcheck` (and `linkcheck --version`) stays cheap:

    from linkcheck import check, load_config, render
    report = check(load_config("references.yaml"))
    print(render(report, "markdown"))
"""
from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (type checkers know the name)

# The one place the version is written (SemVer; PEP 440's `.devN` between releases). Releases are tagged
# `vX.Y.Z`; see CHANGELOG.md.
__version__ = "1.0.0.dev0"

# The distribution that installs this import package: `linkcheck` on the package index is another project.
DISTRIBUTION = "citation-linkcheck"

# Public name -> the private module that defines it.
_API = {
    "check": "api", "check_async": "api", "render": "api",
    "load_config": "config", "Config": "config", "Settings": "config",
    "RunReport": "model", "Result": "model", "Verdict": "model", "Reason": "model", "Citation": "model",
    "LinkcheckError": "errors", "InputError": "errors", "ConfigError": "errors",
}

__all__ = ["Citation", "Config", "ConfigError", "InputError", "LinkcheckError", "Reason", "Result", "RunReport",
           "Settings", "Verdict", "__version__", "check", "check_async", "load_config", "render"]

if TYPE_CHECKING:
    from .api import check, check_async, render
    from .config import Config, Settings, load_config
    from .errors import ConfigError, InputError, LinkcheckError
    from .model import Citation, Reason, Result, RunReport, Verdict


def __getattr__(name: str) -> object:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
