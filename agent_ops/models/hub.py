"""`Models`: the model layer, built once from settings and the models config.

The composition root (the CLI) builds it with the storage as decision sink and hands it to the
runtime in its `Deps`; graphs reach it per run with `deps_for(config).need_models()` and ask for
a role: `.role("classify")`.
"""

from __future__ import annotations

import logging
from typing import Literal

from agent_ops.errors import ConfigError
from agent_ops.models._queue import ModelQueue
from agent_ops.models.config import ModelsConfig, load_models_config, parse_spec
from agent_ops.models.decisions import DecisionSink, audited
from agent_ops.models.local import LocalModelServer
from agent_ops.models.prompts import PromptLibrary
from agent_ops.models.providers import ChatEndpoint, Provider, Rule, RuleProvider
from agent_ops.models.replay import ReplayCache, ReplayProvider
from agent_ops.models.roles import RoleModel, _Caller
from agent_ops.settings import Settings

log = logging.getLogger(__name__)


class Models:
    """Roles mapped to providers, with one local model server per local model name."""

    def __init__(
        self,
        config: ModelsConfig,
        settings: Settings,
        sink: DecisionSink,
        *,
        replay: ReplayCache | None = None,
    ) -> None:
        self.config = config
        # The evaluation harness's replay cache (agent_ops.models.replay): when given, every chat
        # provider is asked through it. None in production.
        self.replay = replay
        self._settings = settings
        self._sink = audited(sink)  # a storage's decisions go into the audit trail too
        self.prompts = PromptLibrary(config.prompts_dir or settings.prompts_dir, config.prompts)
        self._rules: dict[str, Rule] = {}
        self._local: dict[str, LocalModelServer] = {}
        self._providers: dict[str, Provider] = {}

    @classmethod
    def from_settings(cls, settings: Settings, sink: DecisionSink) -> Models:
        """Load the models config the settings name (or the all-local defaults)."""
        return cls(load_models_config(settings.models_config), settings, sink)

    def register_rule(self, name: str, rule: Rule) -> None:
        """Make `rules:<name>` answer with `rule`."""
        self._rules[name] = rule

    def role(
        self,
        name: str,
        *,
        on_failure: Literal["error", "human_review"] | None = None,
        **prompt_values: object,
    ) -> RoleModel:
        """Return the chat model of a role; `prompt_values` fill the prompt's `$placeholders`.

        `on_failure` overrides the config's for this caller: a step that hands its own
        uncertainty to a person (as extraction does, through its `review` flag) asks for
        `"error"` so a failed model is an exception it handles, not a second kind of pause.
        """
        role = self.config.role(name)
        if on_failure is not None:
            role = role.model_copy(update={"on_failure": on_failure})
        providers = [self._provider(spec) for spec in role.providers]
        prompt = self.prompts.get(role.prompt) if role.prompt else None
        caller = _Caller(
            name,
            role,
            providers,
            prompt,
            prompt_values,
            self._sink,
            phone_region=self._settings.redact_phone_region,
        )
        return RoleModel(caller)

    def local_server(self, name: str) -> LocalModelServer:
        """The server of `local:<name>` (not started until first use)."""
        if name not in self._local:
            s = self._settings
            self._local[name] = LocalModelServer(
                name=name,
                model_path=s.local_model_path,
                threads=s.local_model_threads,
                context=s.local_model_context,
                start_timeout=s.local_model_start_timeout,
            )
        return self._local[name]

    async def start(self) -> None:
        """Start the local model servers now if the settings ask for it (else on first use)."""
        if self._settings.local_model_start != "serve":
            return
        for role in self.config.roles.values():
            for spec in role.providers:
                kind, name = parse_spec(spec)
                if kind == "local":
                    await self.local_server(name).base_url()

    async def aclose(self) -> None:
        """Stop the local model servers this process started."""
        for server in self._local.values():
            await server.stop()

    def _provider(self, spec: str) -> Provider:
        if spec in self._providers:
            return self._providers[spec]
        kind, name = parse_spec(spec)
        options = self.config.options(spec)
        provider: Provider
        if kind == "openai":
            url = options.base_url or self._settings.openai_base_url
            if url is None:
                raise ConfigError(
                    f"provider {spec!r} has no endpoint: set AGENT_OPS_OPENAI_BASE_URL or"
                    f" providers.{spec!r}.base_url in the models config"
                )

            async def endpoint(url: str = url) -> str:
                return url

            provider = ChatEndpoint(
                spec,
                kind,
                options.model or name,
                options,
                base_url=endpoint,
                api_key=options.api_key or self._settings.openai_api_key,
                queue=ModelQueue(spec, options.max_concurrency),
            )
        elif kind == "local":
            server = self.local_server(name)
            provider = ChatEndpoint(
                spec,
                kind,
                options.model or name,
                options,
                base_url=server.base_url,
                api_key=None,
                # The server's own queue: it decodes one call at a time, whoever asks.
                queue=server.queue,
                count_tokens=server.count_tokens,
                wait_idle=server.wait_idle,
            )
        elif kind == "rules":
            if name not in self._rules:
                raise ConfigError(
                    f"provider {spec!r}: no rule named {name!r} is registered"
                    f" (registered: {', '.join(sorted(self._rules)) or 'none'})"
                )
            provider = RuleProvider(
                spec, name, self._rules[name], ModelQueue(spec, options.max_concurrency)
            )
        else:
            raise ConfigError(
                f"provider {spec!r} is an embedding model; it cannot answer a chat role"
            )
        if self.replay is not None:  # replay cache hook: see agent_ops/models/replay.py
            provider = ReplayProvider(provider, self.replay)
        self._providers[spec] = provider
        return provider
