from __future__ import annotations

from slim_bake.cli import main

raise SystemExit(main())
