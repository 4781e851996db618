"""linkcheck: find every cited source of a submission, check it, and say which evidence is gone."""
from __future__ import annotations

# The one place the version is written (SemVer; PEP 440's `.devN` between releases). Releases are tagged
# `vX.Y.Z`; see CHANGELOG.md.
__version__ = "1.0.0.dev0"

# The distribution that installs this import package: `linkcheck` on the package index is another project.
DISTRIBUTION = "citation-linkcheck"
