"""mkdocs hooks of the crmcore site (listed under ``hooks:`` in mkdocs.yml)."""
