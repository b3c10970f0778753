"""Connectors to business systems, exposed to graphs as LangChain tools: `tryton` (ERP and
accounting), `mail` (IMAP in, SMTP out), `folder`, `sql`, `openapi` (any REST API), `mcp`;
`documents` (vendor invoices read from UBL, CII, PDF and text); `config` (the connectors config
file), `connector` (what every connector shares: timeouts, retries, error texts) and
`json_path` (walking parsed JSON by keys and list indexes); `demo` and
`tryton_demo` (the embedded sample systems `make run` serves).

Tools import `agent_ops.errors`, `agent_ops.settings`, `agent_ops.deps`, the models' public
surface and the intake source protocol of `agent_ops.runtime`; they never import `server` or
`graphs`.
"""
