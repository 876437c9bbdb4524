"""`python -m lxc_manager.simulator ...`"""

import sys

from .cli import main

sys.exit(main())
