"""A short suite against a deployed stack: `make smoke STACK=<name>` (see README, "Deploy to AWS")."""
