"""`python -m lxc_manager_simulator ...`"""

import sys

from .cli import main

sys.exit(main())
