"""The web console at ``/ui``: models, deployments, traffic, monitoring and audit in a browser.

``modelport serve`` mounts it in every worker (``--no-ui`` leaves it out); ``modelport ui``
runs it alone against a registry. It uses the server's own API keys, JWTs and roles, and
every action goes through the same services and audit rows as the CLI.
"""

from modelport.dashboard.app import PREFIX, Console, mount
from modelport.dashboard.mount import SERVE_EXTENSION, ServingConsole, standalone_app
from modelport.dashboard.traffic import TrafficHistory
from modelport.dashboard.web import ConsoleContext

__all__ = [
    "PREFIX",
    "SERVE_EXTENSION",
    "Console",
    "ConsoleContext",
    "ServingConsole",
    "TrafficHistory",
    "mount",
    "standalone_app",
]
