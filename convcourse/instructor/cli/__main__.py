"""``python -m convcourse.instructor.cli`` is ``convcourse``."""

import sys

from convcourse.instructor.cli import main

sys.exit(main())
