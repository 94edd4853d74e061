"""osintkit: verify public claims of attacks from their media.

Flow: claim -> fetch -> media -> archive -> checks -> report (see DESIGN.md).
"""

__version__ = "0.1.0"
