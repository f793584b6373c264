"""``python -m scoring``: run one command and leave without tearing the interpreter down.

pyarrow's CSV reader keeps a native thread pool; at interpreter shutdown its destructor can
race a still-joinable worker thread and abort the process with "terminate called without an
active exception" (exit -6) after the command has finished and printed its result
(apache/arrow#34314). The command's outcome is all a caller needs, so once it is known the
streams are flushed and the process ends with that code directly.

Freed memory stays in the process for reuse (:mod:`scoring.memory`).
"""

import os
import sys

from scoring.memory import keep_freed_memory

keep_freed_memory()

from scoring.cli import main  # noqa: E402 - after the allocator's settings

try:
    code = main()
except SystemExit as stop:  # argparse's usage errors and --help
    code = stop.code
if isinstance(code, str):
    print(code, file=sys.stderr)
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code or 0)
