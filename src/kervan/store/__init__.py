"""Kervan store adapter: tables, repositories, migrations, key files."""
