"""The configuration: ``load_config`` reads a sources.yaml into a frozen ``Config``.

Everything a component needs is validated here, at the boundary, so that a file
``monitor check`` accepts is one the daemon can run: errors name the file, the line and
the key, never a value.
"""

from monitor.config._load import InvalidConfig, config_path, load_config, parse_config
from monitor.config._schema import (
    DEFAULT_CONFIG,
    DEFAULT_DATABASE,
    MIN_INTERVAL,
    AlertConfig,
    AppriseChannel,
    BrowserConfig,
    ChannelConfig,
    Config,
    EmailChannel,
    FetchConfig,
    HealthConfig,
    HttpConfig,
    LogChannel,
    SmtpConfig,
    SourceConfig,
    WebhookChannel,
    json_schema,
)
from monitor.config._summary import (
    check_report,
    config_warnings,
    describe_polling,
    polling_range,
    summarize,
)
from monitor.config._units import parse_duration, parse_size
from monitor.config._yaml import Problem

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_DATABASE",
    "MIN_INTERVAL",
    "AlertConfig",
    "AppriseChannel",
    "BrowserConfig",
    "ChannelConfig",
    "Config",
    "EmailChannel",
    "FetchConfig",
    "HealthConfig",
    "HttpConfig",
    "InvalidConfig",
    "LogChannel",
    "Problem",
    "SmtpConfig",
    "SourceConfig",
    "WebhookChannel",
    "check_report",
    "config_path",
    "config_warnings",
    "describe_polling",
    "json_schema",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
    "polling_range",
    "summarize",
]
