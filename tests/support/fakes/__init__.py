"""Hand-written in-memory fakes of the services' repository ports (issue 13): what unit tests
run the service layers on. Each fake is held to its adapter's behaviour by the contract test
tests/integration/<svc>/test_<svc>_repository_contract.py, which runs the same cases on both."""
