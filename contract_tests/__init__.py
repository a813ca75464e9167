"""The dub-mock contract suite: does an implementation of `POST /track/sale` keep Dub's contract?

    pytest --pyargs contract_tests --dub-base-url https://staging.example.com --dub-token $KEY
    dub-mock check --base-url http://127.0.0.1:8787 --token dub_mock_key

Without `--dub-base-url` the suite checks a dub-mock it serves itself on a free local port.
"""
