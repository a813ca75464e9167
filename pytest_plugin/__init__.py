"""pytest fixtures for dub-mock: ``dub_mock``, ``dub_mock_app``, ``dub_client``."""
