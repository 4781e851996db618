"""What the stages before and beside a fetch find out: facts, never verdicts (classify decides).

The gate finds a target it must not fetch, the local-file lookup finds a file there or not, the
pipeline finds a root-relative path with no site, or its own network down. Each is a small value
naming what was found; `classify.unfetched` turns it into a verdict from one table."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Fact", "GateRefusal", "LocalFile", "Lookup", "Refusal", "Unchecked", "Unreached"]


class Refusal(Enum):
    """Why the gate does not fetch a target."""

    EXCLUDED = "excluded"                # a settings pattern matches it (subject: the pattern)
    SAME_DOCUMENT = "same_document"      # `#section`: a place in the citing document itself
    MAILTO = "mailto"                    # well-formed e-mail addresses (subject: them, listed)
    BAD_MAILTO = "bad_mailto"            # `mailto:` without a valid address (subject: what it holds)
    TELEPHONE = "telephone"              # `tel:`
    SCHEME = "scheme"                    # another scheme, `ftp:`... (subject: the scheme, "" when none)
    PRIVATE_ADDRESS = "private_address"  # a non-public IP literal (subject: the address)


@dataclass(frozen=True, slots=True)
class GateRefusal:
    """The gate's finding: a target that must not be fetched, and what it names."""

    kind: Refusal
    subject: str = ""


class Lookup(Enum):
    """What looking for a relative link's file found."""

    OUTSIDE_TREE = "outside_tree"  # it leads out of the document's tree: not looked up
    EXISTS = "exists"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A relative link's file: `written` as the document has it, `path` as looked up, and whether
    the tree it was looked for in is the working folder (else the document's own folder)."""

    kind: Lookup
    written: str
    path: str
    in_working_folder: bool


class Unreached(Enum):
    """A target no stage could reach."""

    NO_SITE = "no_site"  # `/about`: a path from a site's root, and no settings.base_url names the site
    OFFLINE = "offline"  # the checker's own network was down for the whole run


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A target not checked for a reason of the run, not of the target (`written`: as cited)."""

    kind: Unreached
    written: str = ""


Fact = GateRefusal | LocalFile | Unchecked
