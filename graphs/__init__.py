"""The shipped workflow graphs, registered in langgraph.json: `invoice_approval` (the vendor
invoice from mail, a folder or the API to payment in Tryton, package `graphs/invoice/`) and
`approval_gate` (a generic human approval step).

Graphs import `agent_ops` (deps, errors, the models' roles) and `tools` (connectors); they get
models and connectors per run through `agent_ops.deps.deps_for(config)`, never from globals.
Nothing in agent-ops imports them except through the registry.
"""
