"""``python -m longwriter.store.migrations "what it does"`` writes the next migration script.

See :mod:`longwriter.store.migrate` for the whole workflow.
"""

from __future__ import annotations

import sys

from longwriter.store.migrate import new_migration

if len(sys.argv) != 2:
    sys.exit('usage: python -m longwriter.store.migrations "what the migration does"')
print(new_migration(sys.argv[1]))
