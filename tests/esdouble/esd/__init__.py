"""esd — the modules of the Elasticsearch/OpenSearch test double.

A package (not loose modules) so that generic names such as `store`,
`settings` or `templates` never shadow other test helpers on sys.path
(e.g. tests/integration/harness.py).  Entry points: `esdouble.py` (CLI, and
`from esdouble import EsDouble`), `esd.double.EsDouble`, `esd.testing`.
"""
