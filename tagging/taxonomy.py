"""The seeded taxonomy of ``shared/TAXONOMY.md``: actor ids and category weights.

These ids are a contract shared by the rules file, the database, the
dashboard and alerts. A rules file may use them without declaring them; any
other id must be declared in the file's ``declare`` section.
"""

from __future__ import annotations

SEEDED_ACTORS: tuple[str, ...] = (
    "morocco",
    "algeria",
    "israel",
    "polisario",
    "western_sahara",
    "united_states",
    "france",
    "spain",
    "palestine",
    "united_nations",
)

# Default escalation weights: positive raises tension, negative lowers it.
SEEDED_WEIGHTS: dict[str, float] = {
    "military_violence": 10.0,
    "diplomatic_rupture": 7.0,
    "accusation_threat": 5.0,
    "surveillance_espionage": 4.0,
    "protest_unrest": 3.0,
    "defence_cooperation": 2.0,
    "sovereignty_dispute": 2.0,
    "economic_energy": -2.0,
    "normalisation_cooperation": -4.0,
    "mediation_deescalation": -5.0,
}

SEEDED_CATEGORIES: tuple[str, ...] = tuple(SEEDED_WEIGHTS)
