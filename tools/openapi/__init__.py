"""REST APIs described by OpenAPI 3.0/3.1: one LangChain tool per allowed operation.

Describe the API in an `OpenAPIConfig` (document, allowed operations, auth, pagination) and
`await openapi_tools(config)` for the tools; reads are retried on transient failures, writes
carry an idempotency key, failures are ConnectorErrors (agent_ops.errors).
"""

from tools.openapi._config import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    CursorPagination,
    LinkPagination,
    OffsetPagination,
    OpenAPIConfig,
    PagePagination,
)
from tools.openapi._tools import openapi_tools

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CursorPagination",
    "LinkPagination",
    "OffsetPagination",
    "OpenAPIConfig",
    "PagePagination",
    "openapi_tools",
]
