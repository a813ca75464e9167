"""pytest fixtures for dub-mock: ``dub_mock``, ``dub_mock_app``, ``dub_client``, ``dub_webhooks``.

The fixtures' types, for annotating tests: ``def test_x(dub_mock: DubMock, dub_webhooks:
DubWebhooks)``.
"""

from .handle import DubMock as DubMock
from .handle import DubMockApp as DubMockApp
from .webhooks import DubWebhooks as DubWebhooks
