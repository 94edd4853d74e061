"""`python -m osintkit.batch`: the child process that verifies one claim (see isolate.py)."""

from osintkit.batch.isolate import child_main

child_main()
