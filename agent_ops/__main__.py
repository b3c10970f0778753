"""`python -m agent_ops` runs the agent-ops command."""

import sys

from agent_ops.cli import main

sys.exit(main())
