"""`python -m agent_ops` runs the agent-ops command."""

from agent_ops.cli import run

run()
