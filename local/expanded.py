"""`python -m local.expanded OUT.json`: the CloudFormation `sam deploy` would create with every
optional part on, for `make static` (checkov reads conditions at their defaults, so on
template.yaml alone it never sees the optional resources)."""

from __future__ import annotations

import json
import sys

from local.stack import EVERYTHING_ON, expand_template


def main(argv: list[str]) -> int:
    (out,) = argv
    with open(out, "w") as file:
        json.dump(expand_template({**EVERYTHING_ON, "KmsKey": "create"}), file, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
