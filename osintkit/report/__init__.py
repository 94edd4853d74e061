"""Report stage (last in the flow): the Report model and its renderers.

`model.Report` holds everything one verification found; `render` writes it as JSON
(validated against the shipped `schema.json`), Markdown, self-contained HTML and JUnit.
"""

from osintkit.report.model import SCHEMA_VERSION, Finding, Report, Verdict

__all__ = ["SCHEMA_VERSION", "Finding", "Report", "Verdict"]
