"""dub-mock: a stateful, spec-driven twin of Dub's conversion tracking (`/track/click`,
`/track/lead`, `/track/sale`, the publishable-key client routes) and the webhooks it sends.

from mockserver import MockServer

with MockServer() as dub:
    requests.post(f"{dub.url}/track/sale", json={...},
                  headers={"Authorization": "Bearer dub_mock_key"})
"""

__version__ = "0.1.0"

from .app import create_app as create_app
from .server import MockServer as MockServer
from .settings import Settings as Settings
