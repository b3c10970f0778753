"""The MCP connector's configuration: which servers, how to reach them, which of their tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from tools.connector import Effect

if TYPE_CHECKING:
    from langchain_mcp_adapters.sessions import Connection

ALL_TOOLS = "*"


class MCPServer(BaseModel):
    """One MCP server, reached over stdio (a child process) or streamable HTTP."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: Literal["stdio", "http"]
    command: str | None = Field(default=None, description="stdio: the program to start")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments")
    env: dict[str, SecretStr] = Field(
        default_factory=dict, description="stdio: variables added to a minimal environment"
    )
    cwd: str | None = Field(default=None, description="stdio: its working directory")
    url: HttpUrl | None = Field(default=None, description="http: e.g. http://host:port/mcp")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="http: sent with every request, e.g. Authorization"
    )
    allowed_tools: list[str] = Field(
        min_length=1,
        description=f"the server's tools to offer, by name; [{ALL_TOOLS!r}] for all of them",
    )
    effects: dict[str, Effect] = Field(
        default_factory=dict,
        description=(
            "read or write per tool; unlisted tools follow the server's readOnlyHint when "
            "trust_annotations, else are side-effecting"
        ),
    )
    trust_annotations: bool = Field(
        default=True, description="take a tool's readOnlyHint=true as read-only"
    )
    timeout: float = Field(default=30.0, gt=0, le=3600, description="seconds per call or listing")
    attempts: int = Field(default=3, ge=1, description="tries for a read-only call")
    backoff: float = Field(default=0.2, ge=0)
    prefix: bool = Field(default=True, description="name tools `<server>_<tool>`")

    @model_validator(mode="after")
    def _check(self) -> MCPServer:
        if self.transport == "stdio":
            if not self.command:
                raise ValueError("transport stdio needs a command")
            if self.url is not None or self.headers:
                raise ValueError("url and headers apply to transport http, not stdio")
        else:
            if self.url is None:
                raise ValueError("transport http needs a url")
            if self.command or self.args or self.env or self.cwd:
                raise ValueError("command, args, env and cwd apply to transport stdio, not http")
        if ALL_TOOLS in self.allowed_tools and len(self.allowed_tools) > 1:
            raise ValueError(f"{ALL_TOOLS!r} allows every tool; list no others beside it")
        if ALL_TOOLS not in self.allowed_tools and (
            stray := sorted(set(self.effects) - set(self.allowed_tools))
        ):
            raise ValueError(f"effects name tools not in allowed_tools: {', '.join(stray)}")
        return self

    def allows(self, tool: str) -> bool:
        return ALL_TOOLS in self.allowed_tools or tool in self.allowed_tools

    def target(self) -> str:
        """Where the server is, for messages (no secrets)."""
        if self.transport == "http":
            return str(self.url)
        return " ".join([self.command or "", *self.args])

    def connection(self) -> Connection:
        """The langchain-mcp-adapters connection for this server."""
        # Imported here, not with the config: parsing a config must not load `mcp` (tools/mcp/_kept).
        from langchain_mcp_adapters.sessions import StdioConnection, StreamableHttpConnection

        if self.transport == "http":
            return StreamableHttpConnection(
                transport="streamable_http",
                url=str(self.url),
                headers={k: v.get_secret_value() for k, v in self.headers.items()},
                timeout=self.timeout,
                sse_read_timeout=self.timeout,
            )
        return StdioConnection(
            transport="stdio",
            command=self.command or "",
            args=list(self.args),
            env={k: v.get_secret_value() for k, v in self.env.items()},
            cwd=self.cwd,
        )


class MCPConfig(BaseModel):
    """The MCP servers whose tools a graph may call, by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    servers: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")], MCPServer] = Field(
        default_factory=dict
    )
